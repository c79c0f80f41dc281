package dev.ultrakv;

import java.time.Duration;

/**
 * A snapshot of an engine's counters, taken at one moment by {@link UltraAdaptiveKVCacheEngine#getStats()}.
 * Request counts cover requests served since the engine started; a request hit means every prompt token was
 * found in the cache.
 *
 * @param totalRequests      requests served (completed with a result)
 * @param cacheHits          served requests whose whole prompt was cached
 * @param cacheMisses        served requests that computed at least one prompt token
 * @param failedRequests     requests that failed (bad input, an error while serving, or the engine closed or
 *                           failed while they were held; not those cancelled, expired or rejected, counted below)
 * @param promptTokens       prompt tokens of the served requests
 * @param cachedPromptTokens of those, tokens found in the cache
 * @param evictions          KV blocks evicted from the cache to make room
 * @param blocksUsed         KV blocks held by the cache or by a running request
 * @param blocksFree         KV blocks free
 * @param kvBytesInUse       bytes of the blocks in use
 * @param kvBytesCapacity    bytes of all blocks
 * @param latencyP50         median latency of the served requests (zero before the first)
 * @param latencyP95         95th percentile latency
 * @param latencyP99         99th percentile latency
 * @param preemptions        times a running request was preempted (its blocks freed, its work redone later)
 *                           because the KV cache ran dry or a more urgent request needed its place
 * @param cancelledRequests  requests cancelled through their future
 * @param expiredRequests    requests stopped at their deadline
 * @param rejectedRequests   requests rejected because the queue was full
 * @param submittedRequests  requests handed to the engine, in any state: once all have ended,
 *                           {@code totalRequests + failedRequests + cancelledRequests + expiredRequests
 *                           + rejectedRequests == submittedRequests}
 * @param state              whether the engine serves, was closed, or failed
 * @param failure            why the engine failed (the fault's type and message), or null unless
 *                           {@code state} is {@link EngineState#FAILED}
 * @param runningSequences   requests running (admitted, holding KV blocks) when the snapshot was taken
 * @param waitingRequests    requests waiting in the scheduler for admission
 * @param pinnedBlocks       cached KV blocks pinned by running requests (0 once none runs: nothing leaks)
 */
public record EngineStats(long totalRequests, long cacheHits, long cacheMisses, long failedRequests,
                          long promptTokens, long cachedPromptTokens, long evictions, int blocksUsed,
                          int blocksFree, long kvBytesInUse, long kvBytesCapacity, Duration latencyP50,
                          Duration latencyP95, Duration latencyP99, long preemptions, long cancelledRequests,
                          long expiredRequests, long rejectedRequests, long submittedRequests, EngineState state,
                          String failure, int runningSequences, int waitingRequests, int pinnedBlocks) {

    /** Requests that ended, one way or another. */
    public long endedRequests() {
        return totalRequests + failedRequests + cancelledRequests + expiredRequests + rejectedRequests;
    }

    /** Cache hits over served requests; 0 before the first. */
    public double hitRate() {
        return totalRequests == 0 ? 0 : (double) cacheHits / totalRequests;
    }

    /** Cached prompt tokens over prompt tokens; 0 before the first request. */
    public double tokenHitRate() {
        return promptTokens == 0 ? 0 : (double) cachedPromptTokens / promptTokens;
    }
}
