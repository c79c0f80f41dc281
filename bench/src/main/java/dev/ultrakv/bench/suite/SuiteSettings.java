package dev.ultrakv.bench.suite;

import dev.ultrakv.CacheStrategy;

import java.util.List;

/**
 * Every count and list of the benchmark suite, with the benchmarking guide's defaults ({@link #guide()}) or the
 * small ones of a first look ({@link #quick()}). Immutable.
 *
 * @param latencyIterations         requests of the latency benchmark, one after another
 * @param cacheLatencyIterations    distinct requests of the cache-latency benchmark, each sent in both passes
 * @param throughputRequests        requests per concurrency level of the throughput benchmark
 * @param concurrencyLevels         requests in flight at once, one throughput run per level
 * @param batchRequests             requests of the batch benchmark
 * @param batchSize                 requests per {@code processBatchOptimized} call
 * @param memoryRequests            requests of the memory benchmark
 * @param hitRateRequests           requests of the hit-rate benchmark
 * @param repeatRatio               share of the hit-rate requests that repeat an earlier prompt
 * @param hitRateCacheTokens        cache size of the hit-rate benchmark; 0 sizes it to hold the whole workload
 * @param strategyRequests          requests per workload of the strategies benchmark
 * @param strategyCacheTokens       cache size of the strategies benchmark: small enough that policies matter
 * @param strategies                the eviction strategies compared
 * @param workloads                 workload names ({@code dev.ultrakv.sim.Workloads} and {@code mooncake-excerpt})
 * @param configurationIterations   latency (and memory) requests per configuration
 * @param configurationRequests     throughput requests per configuration, at {@code configurationConcurrency}
 * @param configurationConcurrency  requests in flight of the configurations' throughput run
 * @param maxTokens                 cache size of the latency, throughput, batch and memory benchmarks
 * @param maxNewTokens              tokens generated per request
 * @param warmupRequests            requests run first and not timed, so that the kernels are compiled
 * @param seed                      seed of every generated workload
 */
public record SuiteSettings(int latencyIterations, int cacheLatencyIterations, int throughputRequests,
                            List<Integer> concurrencyLevels, int batchRequests, int batchSize, int memoryRequests,
                            int hitRateRequests, double repeatRatio, int hitRateCacheTokens, int strategyRequests,
                            int strategyCacheTokens, List<CacheStrategy> strategies, List<String> workloads,
                            int configurationIterations, int configurationRequests, int configurationConcurrency,
                            int maxTokens, int maxNewTokens, int warmupRequests, long seed) {

    /** The guide's iterations of the latency, cache-latency, memory and configuration benchmarks. */
    public static final int GUIDE_ITERATIONS = 1000;
    /** The guide's requests of the throughput, batch and hit-rate benchmarks. */
    public static final int GUIDE_REQUESTS = 10_000;
    /** The guide's concurrency levels. */
    public static final List<Integer> GUIDE_CONCURRENCY = List.of(10, 50, 100, 200, 500);
    /** The guide's batch size. */
    public static final int GUIDE_BATCH_SIZE = 50;
    /** The guide's repeat ratio of the strategies comparison (its hit-rate default of 0.5 is overridden there). */
    public static final double GUIDE_REPEAT_RATIO = 0.6;
    /** The guide's concurrency when one level is run. */
    public static final int GUIDE_CONCURRENCY_DEFAULT = 100;
    /** The guide's cache size of the suite script. */
    public static final int GUIDE_MAX_TOKENS = 8192;
    /**
     * Requests per workload and strategy: the guide's 10,000 for 3 strategies and 5 workloads would be 150,000
     * requests, longer than the rest of the suite together; 2,000 already separates the policies.
     */
    public static final int DEFAULT_STRATEGY_REQUESTS = 2000;
    /** 256 blocks of 16: the middle of the simulator's capacities, where the policies differ most. */
    public static final int DEFAULT_STRATEGY_CACHE_TOKENS = 4096;
    /**
     * Tokens per request: half the engine's default of 32, so that the full suite (about 100,000 requests) stays
     * within minutes on two cores with the embedded model. The cache figures do not depend on it.
     */
    public static final int DEFAULT_MAX_NEW_TOKENS = 16;
    /** Enough requests for the JIT to compile the forward pass before the first timed one. */
    public static final int DEFAULT_WARMUP_REQUESTS = 200;
    /** The workloads of the strategies benchmark: the guide's repeats, the simulator's patterns, a real trace. */
    public static final List<String> DEFAULT_WORKLOADS = List.of("repeats(0.6)", "shared-system-prompts",
            "multi-turn-chat", "hot-set-with-scans", StrategiesBenchmark.MOONCAKE);

    /** Checks the values. */
    public SuiteSettings {
        concurrencyLevels = List.copyOf(concurrencyLevels);
        strategies = List.copyOf(strategies);
        workloads = List.copyOf(workloads);
        positive("latency iterations", latencyIterations);
        positive("cache-latency iterations", cacheLatencyIterations);
        positive("throughput requests", throughputRequests);
        positive("batch requests", batchRequests);
        positive("batch size", batchSize);
        positive("memory requests", memoryRequests);
        positive("hit-rate requests", hitRateRequests);
        positive("strategy requests", strategyRequests);
        positive("strategy cache tokens", strategyCacheTokens);
        positive("configuration iterations", configurationIterations);
        positive("configuration requests", configurationRequests);
        positive("configuration concurrency", configurationConcurrency);
        positive("max tokens", maxTokens);
        positive("max new tokens", maxNewTokens);
        if (warmupRequests < 0 || hitRateCacheTokens < 0) {
            throw new IllegalArgumentException("warm-up requests and hit-rate cache tokens must be >= 0");
        }
        if (!(repeatRatio >= 0 && repeatRatio < 1)) {
            throw new IllegalArgumentException("repeat ratio must be in [0, 1): " + repeatRatio);
        }
        if (concurrencyLevels.isEmpty() || concurrencyLevels.stream().anyMatch(c -> c < 1)) {
            throw new IllegalArgumentException("concurrency levels must be positive: " + concurrencyLevels);
        }
        if (strategies.isEmpty() || workloads.isEmpty()) {
            throw new IllegalArgumentException("strategies and workloads must not be empty");
        }
    }

    /** The guide's counts (with the documented deviations above). */
    public static SuiteSettings guide() {
        return new SuiteSettings(GUIDE_ITERATIONS, GUIDE_ITERATIONS, GUIDE_REQUESTS, GUIDE_CONCURRENCY,
                GUIDE_REQUESTS, GUIDE_BATCH_SIZE, GUIDE_ITERATIONS, GUIDE_REQUESTS, GUIDE_REPEAT_RATIO, 0,
                DEFAULT_STRATEGY_REQUESTS, DEFAULT_STRATEGY_CACHE_TOKENS, List.of(CacheStrategy.values()),
                DEFAULT_WORKLOADS, GUIDE_ITERATIONS, GUIDE_ITERATIONS, GUIDE_CONCURRENCY_DEFAULT, GUIDE_MAX_TOKENS,
                DEFAULT_MAX_NEW_TOKENS, DEFAULT_WARMUP_REQUESTS, 42);
    }

    /**
     * Small counts for CI and first looks: the whole suite in well under a minute on two cores. The lists stay
     * the guide's, so every table and chart has its full shape.
     */
    public static SuiteSettings quick() {
        return new SuiteSettings(100, 100, 100, GUIDE_CONCURRENCY, 200, GUIDE_BATCH_SIZE, 100, 500,
                GUIDE_REPEAT_RATIO, 0, 60, DEFAULT_STRATEGY_CACHE_TOKENS, List.of(CacheStrategy.values()),
                DEFAULT_WORKLOADS, 50, 100, GUIDE_CONCURRENCY_DEFAULT, GUIDE_MAX_TOKENS, DEFAULT_MAX_NEW_TOKENS, 30,
                42);
    }

    private static void positive(String what, int value) {
        if (value < 1) {
            throw new IllegalArgumentException(what + " must be positive: " + value);
        }
    }
}
