package dev.ultrakv.bench.suite;

import dev.ultrakv.CacheStrategy;
import dev.ultrakv.Request;
import dev.ultrakv.RequestResult;

import java.util.LinkedHashSet;
import java.util.List;
import java.util.stream.IntStream;

/**
 * The guide's latency with cache: {@code "Query i"} for every i, then the same requests again on the same
 * engine. The first pass computes every prompt (misses), the second finds each whole in the cache (hits). The
 * cache is made large enough to hold the first pass whole, or the second pass would measure evictions.
 *
 * <h2>Notes</h2>
 * <b>What a hit saves.</b> A hit skips the prompt's prefill, not the generation: with the guide's short prompts
 * and the tokens generated after them, whole-request latency barely moves and its difference is within the noise
 * of a shared machine. The time to first token of each pass, reported beside it, shows the saving itself.
 */
public final class CacheLatencyBenchmark {

    /**
     * The figures of one run.
     *
     * @param iterations             requests per pass
     * @param cacheTokens            the cache's size in positions
     * @param missPass               latency of the first pass
     * @param hitPass                latency of the second pass
     * @param missPassHits           requests of the first pass that were full hits (0 expected)
     * @param hitPassHits            requests of the second pass that were full hits (all expected)
     * @param improvementMeanPercent how much lower the second pass's mean is, in percent of the first's
     * @param improvementP95Percent  the same for the 95th percentile
     * @param missPassTtftMeanMs     mean time to first token of the first pass: the part a hit can save, as the
     *                               generated tokens cost the same in both passes
     * @param hitPassTtftMeanMs      mean time to first token of the second pass
     */
    public record Result(int iterations, int cacheTokens, LatencyStats missPass, LatencyStats hitPass,
                         long missPassHits, long hitPassHits, double improvementMeanPercent,
                         double improvementP95Percent, double missPassTtftMeanMs, double hitPassTtftMeanMs) {
    }

    private CacheLatencyBenchmark() {
    }

    /** Runs the benchmark. */
    public static Result run(SuiteContext context) {
        int iterations = context.settings().cacheLatencyIterations();
        List<String> texts = IntStream.range(0, iterations).mapToObj(i -> "Query " + i).toList();
        List<Request> requests = texts.stream().map(context::request).toList();
        int cacheTokens = Math.max(context.settings().maxTokens(),
                CacheSizing.toHold(context.model(), new LinkedHashSet<>(texts), context.settings().maxNewTokens()));
        LatencyRecorder miss = new LatencyRecorder();
        LatencyRecorder hit = new LatencyRecorder();
        List<RequestResult> first;
        List<RequestResult> second;
        context.progress().begin("cache-latency", 2L * iterations);
        try (var engine = context.engine("cache-latency",
                context.config(cacheTokens, CacheStrategy.ADAPTIVE))) {
            first = EngineRuns.sequential(engine, requests, miss, context.progress());
            second = EngineRuns.sequential(engine, requests, hit, context.progress());
        }
        context.progress().end();
        LatencyStats missStats = miss.stats();
        LatencyStats hitStats = hit.stats();
        return new Result(iterations, cacheTokens, missStats, hitStats, hits(first), hits(second),
                improvement(missStats.mean(), hitStats.mean()), improvement(missStats.p95(), hitStats.p95()),
                meanTtftMs(first), meanTtftMs(second));
    }

    private static double meanTtftMs(List<RequestResult> results) {
        return results.stream().mapToLong(r -> r.timeToFirstToken().toNanos()).average().orElse(0) / 1e6;
    }

    /** How much lower {@code after} is than {@code before}, in percent of {@code before} (0 when it is 0). */
    static double improvement(double before, double after) {
        return before == 0 ? 0 : (before - after) / before * 100;
    }

    private static long hits(List<RequestResult> results) {
        return results.stream().filter(RequestResult::cacheHit).count();
    }
}
