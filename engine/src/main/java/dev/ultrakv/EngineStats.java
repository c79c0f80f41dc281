package dev.ultrakv;

import dev.ultrakv.kvcache.tier.TierStats;

import java.time.Duration;
import java.util.List;

/**
 * A snapshot of an engine's counters, taken at one moment by {@link UltraAdaptiveKVCacheEngine#getStats()}, in
 * three groups: {@link #requests()} (how requests ended), {@link #cache()} (the prefix cache and its blocks) and
 * {@link #latency()} (percentiles of the served requests), with {@link #tiers()} (the KV tiers below memory) and
 * the engine's {@link #state()}. The flat accessors
 * ({@link #totalRequests()}, {@link #cacheHits()}, {@link #hitRate()} …) are the benchmark guide's names for the
 * same figures.
 *
 * @param requests how the requests handed to the engine ended
 * @param cache    the prefix cache: hits, tokens, evictions, blocks and bytes
 * @param latency  percentiles of the served requests' latency, time to first token and time per output token
 * @param tiers    the KV tiers below the memory pool (disk, Redis): each one's counters and what came back from
 *                 them
 * @param state    whether the engine serves, was closed, or failed
 * @param failure  why the engine failed (the fault's type and message), or null unless {@code state} is
 *                 {@link EngineState#FAILED}
 */
public record EngineStats(Requests requests, Cache cache, Latency latency, Tiers tiers, EngineState state,
                          String failure) {

    /**
     * How requests ended. Each is counted once, where it ends; once all have ended, {@code served + failed +
     * cancelled + expired + rejected == submitted}.
     *
     * @param submitted requests handed to the engine, in any state
     * @param served    requests completed with a result
     * @param failed    requests that failed (bad input, an error while serving, or the engine closed or failed
     *                  while they were held; not those cancelled, expired or rejected)
     * @param cancelled requests cancelled through their future
     * @param expired   requests stopped at their deadline
     * @param rejected  requests rejected because the queue was full
     * @param waiting   requests waiting for admission at the snapshot, those loading blocks from the KV tiers
     *                  included
     * @param running   sequences running (holding KV blocks) at the snapshot
     * @param preempted times a running request was preempted (its blocks freed, its work redone later) because the
     *                  KV cache ran dry or a more urgent request needed its place
     */
    public record Requests(long submitted, long served, long failed, long cancelled, long expired, long rejected,
                           int waiting, int running, long preempted) {

        /** Requests that ended, one way or another. */
        public long ended() {
            return served + failed + cancelled + expired + rejected;
        }
    }

    /**
     * The prefix cache. A request hit means every prompt token was found in the cache.
     *
     * @param hits               served requests whose whole prompt was cached
     * @param misses             served requests that computed at least one prompt token
     * @param promptTokens       prompt tokens of the served requests
     * @param cachedPromptTokens of those, tokens found in the cache
     * @param generatedTokens    tokens generated for the served requests
     * @param evictions          KV blocks evicted from the cache to make room
     * @param blocksUsed         KV blocks held by the cache or by a running request
     * @param blocksFree         KV blocks free
     * @param blocksPinned       cached KV blocks pinned by running requests (none once every request ended)
     * @param kvBytesInUse       bytes of the blocks in use
     * @param kvBytesCapacity    bytes of all blocks
     */
    public record Cache(long hits, long misses, long promptTokens, long cachedPromptTokens, long generatedTokens,
                        long evictions, int blocksUsed, int blocksFree, int blocksPinned, long kvBytesInUse,
                        long kvBytesCapacity) {

        /** Hits over served requests; 0 before the first. */
        public double hitRate() {
            long served = hits + misses;
            return served == 0 ? 0 : (double) hits / served;
        }

        /** Cached prompt tokens over prompt tokens; 0 before the first request. */
        public double tokenHitRate() {
            return promptTokens == 0 ? 0 : (double) cachedPromptTokens / promptTokens;
        }
    }

    /**
     * Percentiles of the served requests (zero before the first), from HdrHistograms (within 0.1 %).
     *
     * @param endToEnd        from submission to the result, queueing included
     * @param timeToFirstToken from submission to the first generated token
     * @param timePerOutputToken after the first token, the time per further token: (latency − TTFT) / (tokens − 1),
     *                        for requests that generated at least two
     */
    public record Latency(Percentiles endToEnd, Percentiles timeToFirstToken, Percentiles timePerOutputToken) {
    }

    /**
     * The KV tiers below the memory pool, and what the engine brought back from them. A promoted block is an
     * ordinary cached block once in memory: its tokens count in {@link Cache#cachedPromptTokens()} too.
     *
     * @param tiers           each tier's own counters (hits, misses, bytes written and read, errors, corrupt
     *                        records, load latency), in the order they are asked; empty without tiers
     * @param loads           lookups started: requests whose memory-resident prefix ended before their last full
     *                        block
     * @param promotedBlocks  blocks brought back from the tiers into memory
     * @param promotedTokens  prompt positions of those blocks
     * @param recomputedLoads loads that fell back to recomputing blocks that were found (the load timed out, a
     *                        record was refused, or the pool had no room)
     * @param refusedRecords  records a tier returned that the engine's own check refused (wrong key, checksum,
     *                        namespace or size)
     */
    public record Tiers(List<TierStats> tiers, long loads, long promotedBlocks, long promotedTokens,
                        long recomputedLoads, long refusedRecords) {
        public Tiers {
            tiers = List.copyOf(tiers);
        }
    }

    /** The median, 95th and 99th percentiles of one latency. */
    public record Percentiles(Duration p50, Duration p95, Duration p99) {
        /** All zero: nothing recorded. */
        public static final Percentiles NONE = new Percentiles(Duration.ZERO, Duration.ZERO, Duration.ZERO);
    }

    /** Requests served (completed with a result). */
    public long totalRequests() {
        return requests.served();
    }

    /** Requests handed to the engine, in any state. */
    public long submittedRequests() {
        return requests.submitted();
    }

    /** Requests that failed. */
    public long failedRequests() {
        return requests.failed();
    }

    /** Requests cancelled through their future. */
    public long cancelledRequests() {
        return requests.cancelled();
    }

    /** Requests stopped at their deadline. */
    public long expiredRequests() {
        return requests.expired();
    }

    /** Requests rejected because the queue was full. */
    public long rejectedRequests() {
        return requests.rejected();
    }

    /** Requests that ended, one way or another. */
    public long endedRequests() {
        return requests.ended();
    }

    /** Times a running request was preempted. */
    public long preemptions() {
        return requests.preempted();
    }

    /** Requests waiting for admission at the snapshot. */
    public int waitingRequests() {
        return requests.waiting();
    }

    /** Sequences running (holding KV blocks) at the snapshot. */
    public int runningSequences() {
        return requests.running();
    }

    /** Cached KV blocks pinned by running requests (none once every request ended). */
    public int pinnedBlocks() {
        return cache.blocksPinned();
    }

    /** Served requests whose whole prompt was cached. */
    public long cacheHits() {
        return cache.hits();
    }

    /** Served requests that computed at least one prompt token. */
    public long cacheMisses() {
        return cache.misses();
    }

    /** Cache hits over served requests; 0 before the first. */
    public double hitRate() {
        return cache.hitRate();
    }

    /** Cached prompt tokens over prompt tokens; 0 before the first request. */
    public double tokenHitRate() {
        return cache.tokenHitRate();
    }

    /** Prompt tokens of the served requests. */
    public long promptTokens() {
        return cache.promptTokens();
    }

    /** Of those, tokens found in the cache. */
    public long cachedPromptTokens() {
        return cache.cachedPromptTokens();
    }

    /** KV blocks evicted from the cache to make room. */
    public long evictions() {
        return cache.evictions();
    }

    /** KV blocks held by the cache or by a running request. */
    public int blocksUsed() {
        return cache.blocksUsed();
    }

    /** KV blocks free. */
    public int blocksFree() {
        return cache.blocksFree();
    }

    /** Bytes of the blocks in use. */
    public long kvBytesInUse() {
        return cache.kvBytesInUse();
    }

    /** Bytes of all blocks. */
    public long kvBytesCapacity() {
        return cache.kvBytesCapacity();
    }

    /** Median latency of the served requests (zero before the first). */
    public Duration latencyP50() {
        return latency.endToEnd().p50();
    }

    /** 95th percentile latency. */
    public Duration latencyP95() {
        return latency.endToEnd().p95();
    }

    /** 99th percentile latency. */
    public Duration latencyP99() {
        return latency.endToEnd().p99();
    }
}
