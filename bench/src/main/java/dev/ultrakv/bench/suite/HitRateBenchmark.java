package dev.ultrakv.bench.suite;

import dev.ultrakv.CacheStrategy;
import dev.ultrakv.EngineStats;
import dev.ultrakv.Request;
import dev.ultrakv.sim.TraceRequest;

import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * The guide's cache hit rate: requests of which a given share repeats an earlier prompt, through one engine,
 * then the engine's hit and miss counts against the hit rate the workload allows.
 *
 * <h2>Notes</h2>
 * <b>The workload the guide meant.</b> The guide's code sends {@code n(1 - r)} unique prompts and then the first
 * {@code nr} of them again, which is fewer than {@code n} requests whenever {@code r > 0.5} and all of them when
 * {@code r <= 0.5}, and reports {@code r} as the expected rate whatever it sent. Here the workload is
 * {@code Workloads.repeats}: exactly {@code n} requests, of which {@code round(nr)} repeat an earlier prompt,
 * shuffled; and the expected hit rate is counted on the prompts actually generated (a text seen before is a hit
 * when the cache holds everything). The cache is sized to hold the whole workload unless told otherwise, so that
 * the measured rate equals the expected one: a smaller cache measures eviction instead.
 */
public final class HitRateBenchmark {

    /**
     * The figures of one run.
     *
     * @param requests         requests sent
     * @param repeatRatio      share asked to repeat
     * @param uniqueRequests   distinct prompts among them
     * @param repeatedRequests requests whose prompt was sent before
     * @param cacheHits        requests whose whole prompt was cached (the engine's count)
     * @param cacheMisses      requests that computed some prompt token
     * @param hitRate          cache hits ÷ requests
     * @param expectedHitRate  repeated requests ÷ requests, counted on the generated workload
     * @param tokenHitRate     cached prompt tokens ÷ prompt tokens
     * @param evictions        blocks evicted (0 when the cache holds everything)
     * @param cacheTokens      the cache's size in positions
     * @param latency          request latency over the run
     */
    public record Result(int requests, double repeatRatio, int uniqueRequests, int repeatedRequests,
                         long cacheHits, long cacheMisses, double hitRate, double expectedHitRate,
                         double tokenHitRate, long evictions, int cacheTokens, LatencyStats latency) {
    }

    private HitRateBenchmark() {
    }

    /** Runs the benchmark. */
    public static Result run(SuiteContext context) {
        int count = context.settings().hitRateRequests();
        double ratio = context.settings().repeatRatio();
        List<String> texts = SuiteWorkloads.repeats(context, ratio, count).requests().stream()
                .map(TraceRequest::prompt).map(context.alphabet()::numberedText).toList();
        Set<String> unique = new LinkedHashSet<>(texts);
        int repeated = repeatedRequests(texts);
        int cacheTokens = context.settings().hitRateCacheTokens() > 0 ? context.settings().hitRateCacheTokens()
                : Math.max(context.settings().maxTokens(),
                CacheSizing.toHold(context.model(), unique, context.settings().maxNewTokens()));
        List<Request> requests = texts.stream().map(context::request).toList();
        LatencyRecorder latencies = new LatencyRecorder();
        EngineStats stats;
        context.progress().begin("hit-rate", count);
        try (var engine = context.engine("hit-rate",
                context.config(cacheTokens, CacheStrategy.ADAPTIVE))) {
            EngineRuns.sequential(engine, requests, latencies, context.progress());
            stats = engine.getStats();
        }
        context.progress().end();
        return new Result(count, ratio, unique.size(), repeated, stats.cacheHits(), stats.cacheMisses(),
                stats.hitRate(), (double) repeated / count, stats.tokenHitRate(), stats.evictions(), cacheTokens,
                latencies.stats());
    }

    /** Requests whose text appeared earlier in {@code texts}. */
    static int repeatedRequests(List<String> texts) {
        Set<String> seen = new HashSet<>();
        int repeated = 0;
        for (String text : texts) {
            if (!seen.add(text)) {
                repeated++;
            }
        }
        return repeated;
    }
}
