package dev.ultrakv.bench.suite;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;

/** The benchmarks of the suite, by the names the command line and the results file use. */
public enum Benchmark {
    /** Requests one after another. */
    LATENCY("latency", LatencyBenchmark::run),
    /** The same requests twice: misses, then hits. */
    CACHE_LATENCY("cache-latency", CacheLatencyBenchmark::run),
    /** Requests at several concurrency levels. */
    THROUGHPUT("throughput", ThroughputBenchmark::run),
    /** Requests through {@code processBatchOptimized}. */
    BATCH("batch", BatchBenchmark::run),
    /** The process's memory around a run. */
    MEMORY("memory", MemoryBenchmark::run),
    /** GPU memory, where a GPU backend exists. */
    GPU_MEMORY("gpu-memory", GpuMemoryBenchmark::run),
    /** Hit rate of a workload with repeats against the rate it allows. */
    HIT_RATE("hit-rate", HitRateBenchmark::run),
    /** The eviction strategies side by side on several workloads. */
    STRATEGIES("strategies", StrategiesBenchmark::run),
    /** The guide's four configurations. */
    CONFIGURATIONS("configurations", ConfigurationsBenchmark::run);

    private final String key;
    private final Function<SuiteContext, Object> runner;

    Benchmark(String key, Function<SuiteContext, Object> runner) {
        this.key = key;
        this.runner = runner;
    }

    /** The name on the command line and in the results file. */
    public String key() {
        return key;
    }

    /** Runs the benchmark and returns its result record. */
    public Object run(SuiteContext context) {
        return runner.apply(context);
    }

    /** All benchmarks, in the order {@code all} runs them. */
    public static List<Benchmark> all() {
        return List.of(values());
    }

    /**
     * The benchmark called {@code key}.
     *
     * @throws IllegalArgumentException for an unknown name
     */
    public static Benchmark of(String key) {
        return Arrays.stream(values()).filter(b -> b.key.equals(key.toLowerCase(Locale.ROOT))).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("unknown benchmark '" + key + "'"));
    }
}
