package dev.ultrakv.cli;

import dev.ultrakv.bench.suite.Benchmark;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;

import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code ultrakv bench NAME}: the benchmarks of the benchmarking guide, one subcommand each, and {@code all}.
 * Each writes a results directory (JSON, CSV, HTML, PNG).
 */
final class BenchSuiteCommands {
    private BenchSuiteCommands() {
    }

    /** A subcommand that runs some benchmarks of the suite. */
    abstract static class SuiteCommand implements Callable<Integer> {
        @Mixin
        SuiteFlags flags;

        abstract List<Benchmark> benchmarks();

        @Override
        public Integer call() {
            return SuiteRun.execute(flags, benchmarks());
        }
    }

    @Command(name = "all", mixinStandardHelpOptions = true,
            description = "Every benchmark of the suite into one results directory (what `bench` alone runs).")
    static final class All extends SuiteCommand {
        @Override
        List<Benchmark> benchmarks() {
            return Benchmark.all();
        }
    }

    @Command(name = "latency", mixinStandardHelpOptions = true,
            description = "Requests one after another: mean, median, stdev, min, max, p50, p95, p99.")
    static final class Latency extends SuiteCommand {
        @Override
        List<Benchmark> benchmarks() {
            return List.of(Benchmark.LATENCY);
        }
    }

    @Command(name = "cache-latency", mixinStandardHelpOptions = true,
            description = "The same requests twice: misses, then hits, and the improvement.")
    static final class CacheLatency extends SuiteCommand {
        @Override
        List<Benchmark> benchmarks() {
            return List.of(Benchmark.CACHE_LATENCY);
        }
    }

    @Command(name = "throughput", mixinStandardHelpOptions = true,
            description = "Requests and tokens per second, and request latency, at each concurrency level.")
    static final class Throughput extends SuiteCommand {
        @Override
        List<Benchmark> benchmarks() {
            return List.of(Benchmark.THROUGHPUT);
        }
    }

    @Command(name = "batch", mixinStandardHelpOptions = true,
            description = "Requests per second through processBatchOptimized.")
    static final class Batch extends SuiteCommand {
        @Override
        List<Benchmark> benchmarks() {
            return List.of(Benchmark.BATCH);
        }
    }

    @Command(name = "memory", mixinStandardHelpOptions = true,
            description = "Resident memory before, after and at peak; heap; KV bytes; memory per request.")
    static final class Memory extends SuiteCommand {
        @Override
        List<Benchmark> benchmarks() {
            return List.of(Benchmark.MEMORY);
        }
    }

    @Command(name = "gpu-memory", mixinStandardHelpOptions = true,
            description = "GPU memory where a GPU backend is present (none yet: reported as not available).")
    static final class GpuMemory extends SuiteCommand {
        @Override
        List<Benchmark> benchmarks() {
            return List.of(Benchmark.GPU_MEMORY);
        }
    }

    @Command(name = "hit-rate", mixinStandardHelpOptions = true,
            description = "Hit rate of a workload with repeats, against the rate the workload allows.")
    static final class HitRate extends SuiteCommand {
        @Override
        List<Benchmark> benchmarks() {
            return List.of(Benchmark.HIT_RATE);
        }
    }

    @Command(name = "strategies", mixinStandardHelpOptions = true,
            description = "LRU, LFU and ADAPTIVE side by side on several workloads and a replayed trace.")
    static final class Strategies extends SuiteCommand {
        @Override
        List<Benchmark> benchmarks() {
            return List.of(Benchmark.STRATEGIES);
        }
    }

    @Command(name = "configurations", mixinStandardHelpOptions = true,
            description = "Baseline, Compressed, Quantized and Large: latency, memory, throughput, quality.")
    static final class Configurations extends SuiteCommand {
        @Override
        List<Benchmark> benchmarks() {
            return List.of(Benchmark.CONFIGURATIONS);
        }
    }
}
