package dev.ultrakv.cli;

import dev.ultrakv.ModelSource;
import dev.ultrakv.bench.PrefixCacheBenchmark;
import dev.ultrakv.bench.RooflineBenchmark;
import dev.ultrakv.bench.ThroughputCurveBenchmark;
import dev.ultrakv.bench.TiersBenchmark;
import dev.ultrakv.bench.suite.Benchmark;
import dev.ultrakv.model.synthetic.SyntheticShape;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code ultrakv bench}: the benchmark programs; alone, the whole benchmark suite ({@code bench all}). */
@Command(name = "bench", mixinStandardHelpOptions = true,
        description = "Run benchmarks; with no subcommand, the whole suite (bench all).",
        subcommands = {BenchSuiteCommands.All.class, BenchSuiteCommands.Latency.class,
                BenchSuiteCommands.CacheLatency.class, BenchSuiteCommands.Throughput.class,
                BenchSuiteCommands.Batch.class, BenchSuiteCommands.Memory.class, BenchSuiteCommands.GpuMemory.class,
                BenchSuiteCommands.HitRate.class, BenchSuiteCommands.Strategies.class,
                BenchSuiteCommands.Configurations.class, BenchCompareCommand.class, BenchServeCommand.class,
                BenchCommand.Roofline.class, BenchCommand.PrefixCache.class, BenchCommand.ThroughputCurve.class,
                BenchSpeedCommand.class, BenchCommand.Tiers.class})
final class BenchCommand implements Callable<Integer> {
    @Mixin
    SuiteFlags suite;

    @Override
    public Integer call() {
        return SuiteRun.execute(suite, Benchmark.all());
    }

    /** Decode and prefill speed against the machine's measured bandwidth and FMA peak. */
    @Command(name = "roofline", mixinStandardHelpOptions = true,
            description = "Decode speed vs. memory bandwidth and prefill speed vs. peak FMA, on a synthetic model.")
    static final class Roofline implements Callable<Integer> {
        @Option(names = "--shape", defaultValue = "llama-110m",
                description = "Synthetic shape (default: ${DEFAULT-VALUE}).")
        String shape;

        @Option(names = "--dtype", defaultValue = "f32",
                description = "Weight type (default: ${DEFAULT-VALUE}).")
        String dtype;

        @Option(names = "--prompt-tokens", defaultValue = "512",
                description = "Prefill length (default: ${DEFAULT-VALUE}).")
        int promptTokens;

        @Option(names = "--decode-tokens", defaultValue = "32",
                description = "Decode steps timed (default: ${DEFAULT-VALUE}).")
        int decodeTokens;

        @Option(names = "--seed", defaultValue = "42",
                description = "Seed of the weights (default: ${DEFAULT-VALUE}).")
        long seed;

        @Override
        public Integer call() {
            System.out.print(RooflineBenchmark.run(SyntheticShape.named(shape), SynthCommand.parseType(dtype),
                    promptTokens, decodeTokens, seed).format());
            return 0;
        }
    }

    /** Time to first token of a long prompt, uncached and then cached. */
    @Command(name = "prefix-cache", mixinStandardHelpOptions = true,
            description = "Time to first token of a long prompt uncached vs. cached, through the engine API.")
    static final class PrefixCache implements Callable<Integer> {
        @Option(names = "--shape", defaultValue = "llama-110m",
                description = "Synthetic shape (default: ${DEFAULT-VALUE}).")
        String shape;

        @Option(names = "--prompt-tokens", defaultValue = "1024",
                description = "Prompt length (default: ${DEFAULT-VALUE}).")
        int promptTokens;

        @Option(names = "--prompts", defaultValue = "3",
                description = "Distinct prompts, each sent twice (default: ${DEFAULT-VALUE}).")
        int prompts;

        @Option(names = "--seed", defaultValue = "42",
                description = "Seed of the weights and prompts (default: ${DEFAULT-VALUE}).")
        long seed;

        @Override
        public Integer call() {
            System.out.print(PrefixCacheBenchmark.run(SyntheticShape.named(shape), promptTokens, prompts, seed)
                    .format());
            return 0;
        }
    }

    /** Time to first token of long prompts recomputed and served from memory, the disk tier and Redis. */
    @Command(name = "tiers", mixinStandardHelpOptions = true,
            description = {"Time to first token of long prompts recomputed, and served from memory, from the disk"
                    + " tier and from Redis (--kv-redis), in one run.",
                    "Each tier is read by a fresh engine with empty memory; the run uses a fresh disk directory and"
                    + " Redis key prefix."})
    static final class Tiers implements Callable<Integer> {
        @Option(names = "--shape", defaultValue = "llama-110m",
                description = "Synthetic shape, when no --model is given (default: ${DEFAULT-VALUE}).")
        String shape;

        @Mixin
        ModelOptions model = new ModelOptions();

        @Option(names = "--prompt-tokens", defaultValue = "1024",
                description = "Prompt length (default: ${DEFAULT-VALUE}).")
        int promptTokens;

        @Option(names = "--prompts", defaultValue = "3",
                description = "Distinct prompts (default: ${DEFAULT-VALUE}).")
        int prompts;

        @Option(names = "--kv-bits", paramLabel = "BITS", defaultValue = "0",
                description = "KV blocks as 8-, 4- or 2-bit integers; 0 for float32 (default: ${DEFAULT-VALUE}).")
        int kvBits;

        @Option(names = "--kv-disk", paramLabel = "DIR",
                description = "Where the run's disk tier directory is made and deleted (default: the temp dir).")
        Path diskParent;

        @Option(names = "--kv-redis", paramLabel = "URI",
                description = "A Redis (redis://host:port[/db]) to measure too; without it the Redis row is left out.")
        String redisUri;

        @Option(names = "--seed", defaultValue = "42",
                description = "Seed of the weights and prompts (default: ${DEFAULT-VALUE}).")
        long seed;

        @Override
        public Integer call() {
            if (kvBits != 0 && kvBits != 8 && kvBits != 4 && kvBits != 2) {
                throw new IllegalArgumentException("--kv-bits must be 0, 8, 4 or 2, got " + kvBits);
            }
            ModelSource source = model.model == null ? ModelSource.synthetic(SyntheticShape.named(shape), seed)
                    : model.source();
            Path parent = diskParent != null ? diskParent : Path.of(System.getProperty("java.io.tmpdir"));
            System.out.print(TiersBenchmark.run(source, promptTokens, prompts, kvBits, parent, redisUri, seed)
                    .format());
            return 0;
        }
    }

    /** Aggregate generation speed against the number of concurrent requests (continuous batching). */
    @Command(name = "throughput-curve", mixinStandardHelpOptions = true,
            description = "Generated tokens/s and TTFT/TPOT percentiles at each concurrency, through the engine API.")
    static final class ThroughputCurve implements Callable<Integer> {
        @Option(names = "--shape", defaultValue = "llama-110m",
                description = "Synthetic shape, when no --model is given (default: ${DEFAULT-VALUE}).")
        String shape;

        @Mixin
        ModelOptions model = new ModelOptions();

        @Option(names = "--concurrency", split = ",", defaultValue = "1,2,4,8,16,32,64",
                description = "Concurrency levels, ascending (default: ${DEFAULT-VALUE}).")
        int[] concurrency;

        @Option(names = "--prompt-tokens", defaultValue = "32",
                description = "Prompt length (default: ${DEFAULT-VALUE}).")
        int promptTokens;

        @Option(names = "--new-tokens", defaultValue = "32",
                description = "Tokens generated per request (default: ${DEFAULT-VALUE}).")
        int newTokens;

        @Option(names = "--rounds", defaultValue = "4",
                description = "Requests per client at each level (default: ${DEFAULT-VALUE}).")
        int rounds;

        @Option(names = "--requests", paramLabel = "N",
                description = "Requests at each level, instead of concurrency x rounds (as bench serve counts).")
        Integer requests;

        @Option(names = "--seed", defaultValue = "42",
                description = "Seed of the weights and prompts (default: ${DEFAULT-VALUE}).")
        long seed;

        @Override
        public Integer call() {
            ModelSource source = model.model == null ? ModelSource.synthetic(SyntheticShape.named(shape), seed)
                    : model.source();
            System.out.print(ThroughputCurveBenchmark.run(source, concurrency, promptTokens, newTokens, rounds,
                    requests == null ? 0 : requests, seed).format());
            return 0;
        }
    }
}
