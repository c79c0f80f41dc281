package dev.ultrakv.bench.suite;

import dev.ultrakv.CacheStrategy;
import dev.ultrakv.KVCacheConfig;
import dev.ultrakv.Request;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.function.UnaryOperator;
import java.util.stream.IntStream;

/**
 * The guide's comparison of configurations: Baseline (4096 tokens), Compressed (ratio 0.3), Quantized (8 bits)
 * and Large (16384 tokens), each on a fresh engine: latency of {@code "Benchmark query i"} one after another
 * with the process's memory around it, then throughput at a fixed concurrency, then the quality figures of the
 * configuration against the float32 cache.
 *
 * <h2>Notes</h2>
 * <b>Failures are results.</b> A configuration the engine cannot run yet (compression and quantization are
 * refused with {@link UnsupportedOperationException} until they land) is recorded as failed with the engine's
 * message, and the run goes on with the next one.
 */
public final class ConfigurationsBenchmark {
    /** The guide's small cache. */
    static final int BASE_TOKENS = 4096;
    /** The guide's large cache. */
    static final int LARGE_TOKENS = 16_384;
    /** The guide's compression ratio: keep 30% of the positions. */
    static final double COMPRESSION_RATIO = 0.3;
    /** The guide's quantization: 8 bits. */
    static final int QUANTIZATION_BITS = 8;

    /** A named configuration of the comparison. */
    record Variant(String name, int maxTokens, UnaryOperator<KVCacheConfig.Builder> options) {
    }

    /** The guide's four configurations. */
    static final List<Variant> VARIANTS = List.of(
            new Variant("Baseline", BASE_TOKENS, b -> b),
            new Variant("Compressed", BASE_TOKENS, b -> b.useCompression(true).compressionRatio(COMPRESSION_RATIO)),
            new Variant("Quantized", BASE_TOKENS, b -> b.useQuantization(true).quantizationBits(QUANTIZATION_BITS)),
            new Variant("Large", LARGE_TOKENS, b -> b));

    /**
     * The figures of one configuration. When it failed, only {@code name}, {@code config}, {@code status} and
     * {@code error} mean anything and the figures are zero.
     *
     * @param name                     the guide's name for it
     * @param config                   the configuration, as the engine prints it
     * @param status                   {@code ok} or {@code failed}
     * @param error                    the engine's message when it failed, else null
     * @param latency                  latency of the requests sent one after another
     * @param memory                   the process's memory around the latency run
     * @param throughputConcurrency    requests in flight during the throughput run
     * @param requestsPerSecond        requests per second of the throughput run
     * @param generatedTokensPerSecond generated tokens per second of the throughput run
     * @param quality                  the quality figures against the float32 cache
     */
    public record Row(String name, String config, String status, String error, LatencyStats latency,
                      MemoryBenchmark.Result memory, int throughputConcurrency, double requestsPerSecond,
                      double generatedTokensPerSecond, QualityFigures quality) {

        /** Whether the configuration ran. */
        public boolean ok() {
            return "ok".equals(status);
        }
    }

    /**
     * The figures of every configuration.
     *
     * @param rows in the guide's order
     */
    public record Result(List<Row> rows) {
    }

    private ConfigurationsBenchmark() {
    }

    /** Runs the benchmark. */
    public static Result run(SuiteContext context) {
        List<Row> rows = new ArrayList<>();
        int iterations = context.settings().configurationIterations();
        int requests = context.settings().configurationRequests();
        for (Variant variant : VARIANTS) {
            context.progress().begin("configurations " + variant.name(), iterations + requests);
            rows.add(row(context, variant, iterations, requests));
            context.progress().end();
        }
        return new Result(rows);
    }

    private static Row row(SuiteContext context, Variant variant, int iterations, int requests) {
        String name = variant.name();
        int concurrency = context.settings().configurationConcurrency();
        // Built once without tiers to describe it and to measure its quality; the engine gets the tiers.
        KVCacheConfig config = configOf(context, variant).build();
        List<Request> sent = IntStream.range(0, iterations)
                .mapToObj(i -> context.request("Benchmark query " + i)).toList();
        try {
            MemoryBenchmark.Measurement start = MemoryBenchmark.Measurement.start();
            try (var engine = context.engine(name, configOf(context, variant))) {
                LatencyRecorder latencies = new LatencyRecorder();
                EngineRuns.sequential(engine, sent, latencies, context.progress());
                MemoryBenchmark.Result memory = start.finish(iterations, engine.getStats());
                ThroughputBenchmark.Level load = ThroughputBenchmark.level(context, engine, requests, concurrency);
                return new Row(name, config.toString(), "ok", null, latencies.stats(), memory, concurrency,
                        load.requestsPerSecond(), load.generatedTokensPerSecond(), context.quality().measure(config));
            }
        } catch (UnsupportedOperationException | IllegalArgumentException | IllegalStateException
                 | CompletionException e) {
            Throwable cause = e instanceof CompletionException && e.getCause() != null ? e.getCause() : e;
            return new Row(name, config.toString(), "failed", cause.getClass().getSimpleName() + ": "
                    + cause.getMessage(), LatencyStats.EMPTY, null, concurrency, 0, 0,
                    QualityFigures.notMeasured("the configuration did not run"));
        }
    }

    private static KVCacheConfig.Builder configOf(SuiteContext context, Variant variant) {
        return variant.options().apply(context.config(variant.maxTokens(), CacheStrategy.ADAPTIVE));
    }
}
