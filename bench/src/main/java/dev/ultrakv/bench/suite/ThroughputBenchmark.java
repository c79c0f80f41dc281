package dev.ultrakv.bench.suite;

import dev.ultrakv.KVCacheConfig;
import dev.ultrakv.Request;
import dev.ultrakv.UltraAdaptiveKVCacheEngine;

import java.util.ArrayList;
import java.util.List;
import java.util.stream.IntStream;

/**
 * The guide's concurrent throughput: {@code "Query i"} requests kept {@code concurrency} at a time in flight
 * (the guide's semaphore), one fresh engine per concurrency level.
 *
 * <h2>Notes</h2>
 * <b>Two figures the guide confuses.</b> Its "average latency" is duration ÷ requests: the time between two
 * completions, the inverse of throughput, which falls as concurrency rises while every request waits longer. Here
 * it is {@code inverseThroughputMs}, and {@code latency} is each request's own time from send to result, queueing
 * included: with a one-at-a-time engine it grows with concurrency as a queue does.
 */
public final class ThroughputBenchmark {

    /**
     * The figures of one concurrency level.
     *
     * @param concurrency              requests in flight at once
     * @param requests                 requests completed
     * @param durationSeconds          from the first send to the last result
     * @param requestsPerSecond        requests completed per second
     * @param generatedTokensPerSecond tokens generated per second, over all requests
     * @param inverseThroughputMs      duration ÷ requests: the guide's "avg_latency_ms", which is not a latency
     * @param latency                  each request's own latency under this load
     */
    public record Level(int concurrency, long requests, double durationSeconds, double requestsPerSecond,
                        double generatedTokensPerSecond, double inverseThroughputMs, LatencyStats latency) {
    }

    /**
     * The figures of every level.
     *
     * @param levels one per concurrency level, in the order run
     */
    public record Result(List<Level> levels) {
    }

    private ThroughputBenchmark() {
    }

    /** Runs one level per concurrency of the settings. */
    public static Result run(SuiteContext context) {
        int count = context.settings().throughputRequests();
        List<Level> levels = new ArrayList<>();
        for (int concurrency : context.settings().concurrencyLevels()) {
            context.progress().begin("throughput c=" + concurrency, count);
            levels.add(level(context, context.baseConfig(), count, concurrency));
            context.progress().end();
        }
        return new Result(levels);
    }

    /** {@code count} requests through a fresh engine of {@code config} at {@code concurrency}. */
    static Level level(SuiteContext context, KVCacheConfig.Builder config, int count, int concurrency) {
        try (var engine = context.engine("concurrency " + concurrency, config)) {
            return level(context, engine, count, concurrency);
        }
    }

    /** {@code count} requests through {@code engine} at {@code concurrency}. */
    static Level level(SuiteContext context, UltraAdaptiveKVCacheEngine engine, int count, int concurrency) {
        List<Request> requests = IntStream.range(0, count).mapToObj(i -> context.request("Query " + i)).toList();
        LatencyRecorder latencies = new LatencyRecorder();
        EngineRuns.Load load = EngineRuns.closedLoop(engine, requests, concurrency, latencies, context.progress());
        return new Level(concurrency, load.requests(), load.durationSeconds(), load.requestsPerSecond(),
                load.tokensPerSecond(), load.durationSeconds() * 1000 / load.requests(), latencies.stats());
    }
}
