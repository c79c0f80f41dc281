package dev.ultrakv.sim;

import dev.ultrakv.kvcache.policy.PolicyKind;

/**
 * The figures of one replay: a workload through one policy at one cache size.
 *
 * @param workload       the workload's name
 * @param policy         the eviction policy
 * @param capacityBlocks blocks in the simulated pool
 * @param requests       requests replayed
 * @param requestHits    requests whose whole prompt was cached
 * @param promptTokens   prompt tokens of all requests (hash ids for a Mooncake trace)
 * @param cachedTokens   of those, tokens found cached
 * @param evictions      blocks evicted to make room
 * @param unfitRequests  requests that needed more free blocks than eviction could provide (not cached)
 */
public record SimulationResult(String workload, PolicyKind policy, int capacityBlocks, long requests,
                               long requestHits, long promptTokens, long cachedTokens, long evictions,
                               long unfitRequests) {

    /** Requests whose whole prompt was cached, over requests: the primary figure. */
    public double requestHitRate() {
        return requests == 0 ? 0 : (double) requestHits / requests;
    }

    /** Cached prompt tokens over prompt tokens. */
    public double tokenHitRate() {
        return promptTokens == 0 ? 0 : (double) cachedTokens / promptTokens;
    }
}
