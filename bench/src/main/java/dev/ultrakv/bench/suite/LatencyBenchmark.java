package dev.ultrakv.bench.suite;

import dev.ultrakv.Request;

import java.util.List;
import java.util.stream.IntStream;

/**
 * The guide's individual latency: {@code "Benchmark query i"} sent one after another on one engine of the
 * suite's default configuration, each timed from send to result.
 */
public final class LatencyBenchmark {
    /** Bins of the latency histogram chart. */
    static final int HISTOGRAM_BINS = 40;

    /**
     * The figures of one run.
     *
     * @param iterations requests sent
     * @param latency    their latency
     * @param histogram  the latencies in {@value #HISTOGRAM_BINS} equal bins: {@code binStartMs} and {@code counts}
     */
    public record Result(int iterations, LatencyStats latency, Histogram histogram) {
    }

    /**
     * Latency counts in equal bins.
     *
     * @param binStartMs each bin's lower edge in milliseconds
     * @param counts     requests in each bin
     */
    public record Histogram(double[] binStartMs, double[] counts) {
    }

    private LatencyBenchmark() {
    }

    /** Runs the benchmark. */
    public static Result run(SuiteContext context) {
        int iterations = context.settings().latencyIterations();
        List<Request> requests = IntStream.range(0, iterations)
                .mapToObj(i -> context.request("Benchmark query " + i)).toList();
        LatencyRecorder latencies = new LatencyRecorder();
        context.progress().begin("latency", iterations);
        try (var engine = context.engine("latency", context.baseConfig())) {
            EngineRuns.sequential(engine, requests, latencies, context.progress());
        }
        context.progress().end();
        double[][] bins = latencies.bins(HISTOGRAM_BINS);
        return new Result(iterations, latencies.stats(), new Histogram(bins[0], bins[1]));
    }
}
