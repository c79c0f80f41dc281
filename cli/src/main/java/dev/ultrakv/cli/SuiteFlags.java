package dev.ultrakv.cli;

import dev.ultrakv.CacheStrategy;
import dev.ultrakv.bench.suite.SuiteModel;
import dev.ultrakv.bench.suite.SuiteSettings;
import dev.ultrakv.bench.suite.SuiteTiers;
import dev.ultrakv.server.KvTierOptions;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.nio.file.Path;
import java.util.List;

/**
 * The options of the benchmark suite's commands: every count and list of the benchmarking guide (each defaults
 * to the guide's value, or to {@code --quick}'s), the model, the KV tiers, the output directory and the seed.
 */
final class SuiteFlags {
    @Mixin
    ModelOptions model;

    @Mixin
    KvTierOptions tiers;

    @Option(names = "--quick", description = "Small counts for CI and a first look (under a minute in all).")
    boolean quick;

    @Option(names = "--out", paramLabel = "DIR",
            description = "Results directory (default: bench-results/<date-time>).")
    Path out;

    @Option(names = "--seed", paramLabel = "N", description = "Seed of the generated workloads (default: 42).")
    Long seed;

    @Option(names = "--iterations", paramLabel = "N", description = "Latency requests (default: 1000; quick: 100).")
    Integer latencyIterations;

    @Option(names = "--cache-iterations", paramLabel = "N",
            description = "Cache-latency requests per pass (default: 1000; quick: 100).")
    Integer cacheLatencyIterations;

    @Option(names = "--requests", paramLabel = "N",
            description = "Throughput requests per concurrency level (default: 10000; quick: 100).")
    Integer throughputRequests;

    @Option(names = "--concurrency", paramLabel = "N,N", split = ",",
            description = "Concurrency levels (default: 10,50,100,200,500).")
    List<Integer> concurrencyLevels;

    @Option(names = "--batch-requests", paramLabel = "N",
            description = "Batch benchmark requests (default: 10000; quick: 200).")
    Integer batchRequests;

    @Option(names = "--batch-size", paramLabel = "N", description = "Requests per batch (default: 50).")
    Integer batchSize;

    @Option(names = "--memory-requests", paramLabel = "N",
            description = "Memory benchmark requests (default: 1000; quick: 100).")
    Integer memoryRequests;

    @Option(names = "--hit-rate-requests", paramLabel = "N",
            description = "Hit-rate requests (default: 10000; quick: 500).")
    Integer hitRateRequests;

    @Option(names = "--repeat-ratio", paramLabel = "R",
            description = "Share of hit-rate requests that repeat an earlier one (default: 0.6).")
    Double repeatRatio;

    @Option(names = "--hit-rate-cache-tokens", paramLabel = "N",
            description = "Hit-rate cache size in tokens (default: 0, large enough for the whole workload).")
    Integer hitRateCacheTokens;

    @Option(names = "--strategy-requests", paramLabel = "N",
            description = "Requests per workload and strategy (default: 2000; quick: 60).")
    Integer strategyRequests;

    @Option(names = "--strategy-cache-tokens", paramLabel = "N",
            description = "Cache size of the strategies benchmark in tokens (default: 4096).")
    Integer strategyCacheTokens;

    @Option(names = "--strategies", paramLabel = "S,S", split = ",",
            description = "Strategies compared (default: LRU,LFU,ADAPTIVE).")
    List<CacheStrategy> strategies;

    @Option(names = "--workloads", paramLabel = "W;W", split = ";",
            description = "Workloads of the strategies benchmark, separated by ';' (default: repeats(0.6);"
                    + "shared-system-prompts;multi-turn-chat;hot-set-with-scans;mooncake-excerpt).")
    List<String> workloads;

    @Option(names = "--configuration-iterations", paramLabel = "N",
            description = "Latency requests per configuration (default: 1000; quick: 50).")
    Integer configurationIterations;

    @Option(names = "--configuration-requests", paramLabel = "N",
            description = "Throughput requests per configuration (default: 1000; quick: 100).")
    Integer configurationRequests;

    @Option(names = "--configuration-concurrency", paramLabel = "N",
            description = "Concurrency of the configurations' throughput run (default: 100).")
    Integer configurationConcurrency;

    @Option(names = "--max-tokens", paramLabel = "N",
            description = "Cache size of the latency, throughput, batch and memory benchmarks (default: 8192).")
    Integer maxTokens;

    @Option(names = "--max-new-tokens", paramLabel = "N",
            description = "Tokens generated per request (default: 16, half the engine's 32, to keep the full run"
                    + " within minutes).")
    Integer maxNewTokens;

    @Option(names = "--warmup", paramLabel = "N",
            description = "Untimed requests first, to compile the kernels (default: 200; quick: 30).")
    Integer warmupRequests;

    /** The settings: {@code --quick}'s or the guide's, with every option given replacing its value. */
    SuiteSettings settings() {
        SuiteSettings base = quick ? SuiteSettings.quick() : SuiteSettings.guide();
        return new SuiteSettings(or(latencyIterations, base.latencyIterations()),
                or(cacheLatencyIterations, base.cacheLatencyIterations()),
                or(throughputRequests, base.throughputRequests()),
                or(concurrencyLevels, base.concurrencyLevels()), or(batchRequests, base.batchRequests()),
                or(batchSize, base.batchSize()), or(memoryRequests, base.memoryRequests()),
                or(hitRateRequests, base.hitRateRequests()), or(repeatRatio, base.repeatRatio()),
                or(hitRateCacheTokens, base.hitRateCacheTokens()), or(strategyRequests, base.strategyRequests()),
                or(strategyCacheTokens, base.strategyCacheTokens()), or(strategies, base.strategies()),
                or(workloads, base.workloads()), or(configurationIterations, base.configurationIterations()),
                or(configurationRequests, base.configurationRequests()),
                or(configurationConcurrency, base.configurationConcurrency()), or(maxTokens, base.maxTokens()),
                or(maxNewTokens, base.maxNewTokens()), or(warmupRequests, base.warmupRequests()),
                or(seed, base.seed()));
    }

    /** The model of {@code --model} (and {@code --tokenizer}), or the embedded one. */
    SuiteModel suiteModel() {
        if (model.contextLength != null) {
            throw new IllegalArgumentException("--context-length is not supported by bench: the engine runs the"
                    + " model's own context length");
        }
        if (model.model == null && model.tokenizer != null) {
            throw new IllegalArgumentException("--tokenizer needs --model (the embedded model has its own)");
        }
        return model.model == null ? SuiteModel.embedded() : SuiteModel.file(model.model, model.tokenizer);
    }

    /**
     * The KV tiers of {@code --kv-disk} and {@code --kv-redis}: a fresh set for each engine the suite starts.
     * Checks the options together first.
     *
     * @throws IllegalArgumentException naming the option that is wrong
     */
    SuiteTiers suiteTiers() {
        tiers.check();
        return tiers.any() ? new SuiteTiers(tiers.describe(), tiers::open) : SuiteTiers.NONE;
    }

    private static <T> T or(T given, T otherwise) {
        return given != null ? given : otherwise;
    }
}
