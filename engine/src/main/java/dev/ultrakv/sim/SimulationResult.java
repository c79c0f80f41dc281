package dev.ultrakv.sim;

import dev.ultrakv.kvcache.policy.PolicyKind;

/**
 * The figures of one replay: a workload through one policy at one cache size.
 *
 * @param workload       the workload's name
 * @param policy         the eviction policy
 * @param capacityBlocks blocks in the simulated pool
 * @param workingSet     distinct blocks the workload computes (what a cache that keeps everything holds)
 * @param requests       requests replayed
 * @param requestHits    requests whose whole prompt was cached
 * @param promptBlocks   blocks of all prompts (a prompt's partial last block counts as one)
 * @param cachedBlocks   of those, blocks found cached whole
 * @param promptTokens   real prompt tokens of all requests
 * @param cachedTokens   of those, tokens found cached
 * @param evictions      blocks evicted to make room
 * @param unfitRequests  requests that needed more free blocks than eviction could provide (not cached)
 * @param diskBlocks     blocks of the disk tier behind the pool; 0 for memory alone
 * @param diskTokens     of the cached tokens, those the disk tier gave (counted in {@code cachedTokens} too)
 */
public record SimulationResult(String workload, PolicyKind policy, int capacityBlocks, int workingSet, long requests,
                               long requestHits, long promptBlocks, long cachedBlocks, long promptTokens,
                               long cachedTokens, long evictions, long unfitRequests, int diskBlocks,
                               long diskTokens) {

    /** A replay of memory alone. */
    public SimulationResult(String workload, PolicyKind policy, int capacityBlocks, int workingSet, long requests,
                            long requestHits, long promptBlocks, long cachedBlocks, long promptTokens,
                            long cachedTokens, long evictions, long unfitRequests) {
        this(workload, policy, capacityBlocks, workingSet, requests, requestHits, promptBlocks, cachedBlocks,
                promptTokens, cachedTokens, evictions, unfitRequests, 0, 0);
    }

    /** The capacity as a share of the working set. */
    public double capacityShare() {
        return rate(capacityBlocks, workingSet);
    }

    /** Requests whose whole prompt was cached, over requests. */
    public double fullHitRate() {
        return rate(requestHits, requests);
    }

    /** Prompt blocks found cached over prompt blocks. */
    public double blockHitRate() {
        return rate(cachedBlocks, promptBlocks);
    }

    /** Cached prompt tokens over prompt tokens: the compute a cache saves, and the figure policies are ranked by. */
    public double tokenHitRate() {
        return rate(cachedTokens, promptTokens);
    }

    /** Prompt tokens the disk tier gave, over prompt tokens (part of {@link #tokenHitRate}). */
    public double diskTokenHitRate() {
        return rate(diskTokens, promptTokens);
    }

    private static double rate(long part, long whole) {
        return whole == 0 ? 0 : (double) part / whole;
    }
}
