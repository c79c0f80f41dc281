package dev.ultrakv.bench;

import dev.ultrakv.CacheStrategy;
import dev.ultrakv.KVCacheConfig;
import dev.ultrakv.ModelSource;
import dev.ultrakv.Request;
import dev.ultrakv.RequestResult;
import dev.ultrakv.UltraAdaptiveKVCacheEngine;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Aggregate generation speed against concurrency, through the engine API on one engine: what continuous batching
 * is for. At each level {@code c}, {@code c} clients (threads) each send a request, wait for its result and send
 * the next (a closed loop, as {@code bench serve}'s clients over HTTP), until the level's requests ({@code c ×
 * rounds}, at least {@value #MIN_REQUESTS_PER_LEVEL}, or a count given for every level) are served; the
 * figure is generated tokens over wall time, with the percentiles of time to first token (TTFT) and time per
 * output token (TPOT, the latency after the first token over the tokens after it).
 *
 * <h2>Notes</h2>
 * Every prompt is new (seeded random words), so prefix caching plays no part. The levels share one engine and so
 * one warmed-up JIT; a warm-up level runs first and is not reported. Decoding one sequence streams every weight
 * once per token, so its speed is bound by memory bandwidth; a step of {@code c} sequences streams them once for
 * all, so the speed grows with {@code c} until the matmuls become compute-bound.
 */
public final class ThroughputCurveBenchmark {
    /** The concurrency levels of the curve. */
    public static final int[] DEFAULT_CONCURRENCY = {1, 2, 4, 8, 16, 32, 64};
    /** Concurrency and requests of the warm-up level, which compiles the kernels at several batch sizes. */
    private static final int WARMUP_CONCURRENCY = 8;
    /**
     * Requests of a level at least: the low levels would otherwise last seconds, short enough for one burst of
     * another process's load on a shared machine to move their figure.
     */
    private static final int MIN_REQUESTS_PER_LEVEL = 16;
    /** Seed offset of the warm-up prompts, apart from the measured ones. */
    private static final long WARMUP_SEED = 1_000_000;
    /** Nanoseconds per millisecond. */
    private static final double NANOS_PER_MILLI = 1e6;

    /**
     * One concurrency level.
     *
     * @param tokensPerSecond generated tokens over the level's wall time
     * @param ttftMillis      p50, p95, p99 of time to first token
     * @param tpotMillis      p50, p95, p99 of time per output token
     */
    public record Level(int concurrency, int requests, long generatedTokens, double seconds, double tokensPerSecond,
                        double[] ttftMillis, double[] tpotMillis) {
    }

    /** The curve. */
    public record Result(String model, int promptTokens, int newTokens, List<Level> levels, long preemptions) {

        /** Tokens per second at {@code concurrency} over those at the first level. */
        public double speedup(int concurrency) {
            double base = levels.getFirst().tokensPerSecond();
            return levels.stream().filter(l -> l.concurrency() == concurrency).findFirst()
                    .map(l -> l.tokensPerSecond() / base).orElse(Double.NaN);
        }

        /** A table for people (markdown). */
        public String format() {
            StringBuilder out = new StringBuilder(String.format(Locale.ROOT,
                    "model %s, prompts of %d tokens, up to %d new tokens, closed loop%n%n",
                    model, promptTokens, newTokens));
            out.append("| concurrency | requests | tokens | seconds | tokens/s | vs c=")
                    .append(levels.getFirst().concurrency())
                    .append(" | TTFT p50 / p95 / p99 ms | TPOT p50 / p95 / p99 ms |\n");
            out.append("|---:|---:|---:|---:|---:|---:|---:|---:|\n");
            for (Level l : levels) {
                out.append(String.format(Locale.ROOT, "| %d | %d | %d | %.1f | %.1f | %.2fx | %s | %s |%n",
                        l.concurrency(), l.requests(), l.generatedTokens(), l.seconds(), l.tokensPerSecond(),
                        speedup(l.concurrency()), triple(l.ttftMillis()), triple(l.tpotMillis())));
            }
            out.append(String.format(Locale.ROOT, "%npreemptions: %d%n", preemptions));
            return out.toString();
        }

        private static String triple(double[] p) {
            return String.format(Locale.ROOT, "%.0f / %.0f / %.0f", p[0], p[1], p[2]);
        }
    }

    private ThroughputCurveBenchmark() {
    }

    /**
     * Runs the curve on the model of {@code source}: a synthetic shape, a GGUF file or a llama2.c checkpoint, so
     * that the in-process figure can stand beside {@code bench serve}'s on the same file.
     *
     * @param concurrency levels, ascending, each at least 1
     * @param rounds      requests per client at each level (when {@code requests} is 0)
     * @param requests    requests at each level, whatever the concurrency, or 0 for {@code concurrency × rounds}
     *                    (at least {@value #MIN_REQUESTS_PER_LEVEL})
     */
    public static Result run(ModelSource source, int[] concurrency, int promptTokens, int newTokens, int rounds,
                             int requests, long seed) {
        if (concurrency.length == 0 || Arrays.stream(concurrency).anyMatch(c -> c < 1) || rounds < 1
                || requests < 0 || newTokens < 2 || promptTokens < 2) {
            throw new IllegalArgumentException("need concurrency levels >= 1, rounds >= 1, requests >= 0, new"
                    + " tokens >= 2 and prompt tokens >= 2");
        }
        int maxConcurrency = Arrays.stream(concurrency).max().orElseThrow();
        KVCacheConfig config = KVCacheConfig.builder()
                .maxTokens(2 * Math.max(maxConcurrency, WARMUP_CONCURRENCY) * (promptTokens + newTokens))
                .cacheStrategy(CacheStrategy.LRU)
                .model(source)
                .build();
        List<Level> levels = new ArrayList<>();
        long preemptions;
        String model;
        try (UltraAdaptiveKVCacheEngine engine = new UltraAdaptiveKVCacheEngine(config)) {
            model = engine.modelInfo().name() + " (" + source.description() + ")";
            int context = engine.modelInfo().contextLength();
            if (promptTokens + newTokens > context) {
                throw new IllegalArgumentException("prompt tokens + new tokens (" + (promptTokens + newTokens)
                        + ") exceed the model's context (" + context + ")");
            }
            level(engine, WARMUP_CONCURRENCY, WARMUP_CONCURRENCY, promptTokens, newTokens, seed + WARMUP_SEED);
            for (int c : concurrency) {
                int count = requests > 0 ? requests : Math.max(MIN_REQUESTS_PER_LEVEL, c * rounds);
                levels.add(level(engine, c, count, promptTokens, newTokens, seed + 1000L * c));
            }
            preemptions = engine.getStats().preemptions();
        }
        return new Result(model, promptTokens, newTokens, levels, preemptions);
    }

    private static Level level(UltraAdaptiveKVCacheEngine engine, int concurrency, int requests, int promptTokens,
                               int newTokens, long seed) {
        List<Request> work = new ArrayList<>(requests);
        for (int i = 0; i < requests; i++) {
            work.add(Request.builder().text(PrefixCacheBenchmark.prompt(text -> engine.tokenize(text, true).length,
                            promptTokens, seed + i))
                    .maxNewTokens(newTokens).build());
        }
        RequestResult[] results = new RequestResult[requests];
        AtomicInteger next = new AtomicInteger();
        long start = System.nanoTime();
        List<Thread> clients = new ArrayList<>(concurrency);
        for (int k = 0; k < concurrency; k++) {
            clients.add(Thread.ofVirtual().name("throughput-curve-client-" + k)
                    .start(() -> client(engine, work, results, next)));
        }
        for (Thread client : clients) {
            try {
                client.join();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("throughput-curve interrupted", e);
            }
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        long tokens = 0;
        double[] ttft = new double[requests];
        List<Double> tpot = new ArrayList<>();
        for (int i = 0; i < requests; i++) {
            RequestResult r = results[i];
            tokens += r.generatedTokens();
            ttft[i] = r.timeToFirstToken().toNanos() / NANOS_PER_MILLI;
            if (r.generatedTokens() > 1) {
                tpot.add((r.latency().toNanos() - r.timeToFirstToken().toNanos()) / NANOS_PER_MILLI
                        / (r.generatedTokens() - 1));
            }
        }
        return new Level(concurrency, requests, tokens, seconds, tokens / seconds, percentiles(ttft),
                percentiles(tpot.stream().mapToDouble(Double::doubleValue).toArray()));
    }

    /**
     * One closed-loop client on its own thread: sends the next request when its last one is done, until none are
     * left. A thread, as a user's or a server's would be, rather than a callback chained on the engine's delivery:
     * a resubmission from inside the delivery would reach the scheduler before the next step more often than any
     * real client can, and flatter TTFT.
     */
    private static void client(UltraAdaptiveKVCacheEngine engine, List<Request> work, RequestResult[] results,
                               AtomicInteger next) {
        for (int i = next.getAndIncrement(); i < work.size(); i = next.getAndIncrement()) {
            results[i] = engine.processRequest(work.get(i)).join();
        }
    }

    /** p50, p95 and p99 by nearest rank; zeros when there are no values. */
    static double[] percentiles(double[] values) {
        if (values.length == 0) {
            return new double[3];
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        double[] out = new double[3];
        double[] ranks = {50, 95, 99};
        for (int i = 0; i < 3; i++) {
            int rank = (int) Math.ceil(ranks[i] / 100 * sorted.length);
            out[i] = sorted[Math.max(0, rank - 1)];
        }
        return out;
    }
}
