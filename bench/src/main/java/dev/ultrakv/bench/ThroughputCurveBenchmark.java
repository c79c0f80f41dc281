package dev.ultrakv.bench;

import dev.ultrakv.CacheStrategy;
import dev.ultrakv.KVCacheConfig;
import dev.ultrakv.ModelSource;
import dev.ultrakv.Request;
import dev.ultrakv.RequestResult;
import dev.ultrakv.UltraAdaptiveKVCacheEngine;
import dev.ultrakv.model.synthetic.SyntheticShape;
import dev.ultrakv.model.synthetic.SyntheticVocabulary;
import dev.ultrakv.tokenizer.SentencePieceTokenizer;
import dev.ultrakv.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Aggregate generation speed against concurrency, through the engine API on one engine: what continuous batching
 * is for. At each level {@code c}, {@code c} clients each send a request, wait for its result and send the next
 * (a closed loop), until {@code c × rounds} requests (at least {@value #MIN_REQUESTS_PER_LEVEL}) are served; the
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
    public record Result(String shape, int promptTokens, int newTokens, List<Level> levels, long preemptions) {

        /** Tokens per second at {@code concurrency} over those at the first level. */
        public double speedup(int concurrency) {
            double base = levels.getFirst().tokensPerSecond();
            return levels.stream().filter(l -> l.concurrency() == concurrency).findFirst()
                    .map(l -> l.tokensPerSecond() / base).orElse(Double.NaN);
        }

        /** A table for people (markdown). */
        public String format() {
            StringBuilder out = new StringBuilder(String.format(Locale.ROOT,
                    "model %s F32 (synthetic), prompts of %d tokens, up to %d new tokens, closed loop%n%n",
                    shape, promptTokens, newTokens));
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
     * Runs the curve on a synthetic model of {@code shape}.
     *
     * @param concurrency levels, ascending, each at least 1
     * @param rounds      requests per client at each level
     */
    public static Result run(SyntheticShape shape, int[] concurrency, int promptTokens, int newTokens, int rounds,
                             long seed) {
        if (concurrency.length == 0 || Arrays.stream(concurrency).anyMatch(c -> c < 1) || rounds < 1
                || newTokens < 2 || promptTokens < 2 || promptTokens + newTokens > shape.contextLength()) {
            throw new IllegalArgumentException("need concurrency levels >= 1, rounds >= 1, new tokens >= 2 and"
                    + " prompt tokens >= 2 within the context (" + shape.contextLength() + ")");
        }
        SyntheticVocabulary vocabulary = SyntheticVocabulary.of(shape.vocab());
        Tokenizer tokenizer = SentencePieceTokenizer.fromGguf(vocabulary.tokens(), vocabulary.scores(),
                vocabulary.tokenTypes(), SyntheticVocabulary.BOS_ID, SyntheticVocabulary.EOS_ID,
                SyntheticVocabulary.UNK_ID);
        int maxConcurrency = Arrays.stream(concurrency).max().orElseThrow();
        KVCacheConfig config = KVCacheConfig.builder()
                .maxTokens(2 * Math.max(maxConcurrency, WARMUP_CONCURRENCY) * (promptTokens + newTokens))
                .cacheStrategy(CacheStrategy.LRU)
                .model(ModelSource.synthetic(shape, seed))
                .build();
        List<Level> levels = new ArrayList<>();
        long preemptions;
        try (UltraAdaptiveKVCacheEngine engine = new UltraAdaptiveKVCacheEngine(config)) {
            level(engine, tokenizer, WARMUP_CONCURRENCY, WARMUP_CONCURRENCY, promptTokens, newTokens,
                    seed + WARMUP_SEED);
            for (int c : concurrency) {
                levels.add(level(engine, tokenizer, c, Math.max(MIN_REQUESTS_PER_LEVEL, c * rounds), promptTokens,
                        newTokens, seed + 1000L * c));
            }
            preemptions = engine.getStats().preemptions();
        }
        return new Result(shape.name(), promptTokens, newTokens, levels, preemptions);
    }

    private static Level level(UltraAdaptiveKVCacheEngine engine, Tokenizer tokenizer, int concurrency,
                               int requests, int promptTokens, int newTokens, long seed) {
        List<Request> work = new ArrayList<>(requests);
        for (int i = 0; i < requests; i++) {
            work.add(Request.builder().text(PrefixCacheBenchmark.prompt(tokenizer, promptTokens, seed + i))
                    .maxNewTokens(newTokens).build());
        }
        RequestResult[] results = new RequestResult[requests];
        AtomicInteger next = new AtomicInteger();
        long start = System.nanoTime();
        List<CompletableFuture<Void>> clients = new ArrayList<>(concurrency);
        for (int k = 0; k < concurrency; k++) {
            clients.add(client(engine, work, results, next));
        }
        CompletableFuture.allOf(clients.toArray(CompletableFuture[]::new)).join();
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

    /** One closed-loop client: sends the next request when its last one is done, until none are left. */
    private static CompletableFuture<Void> client(UltraAdaptiveKVCacheEngine engine, List<Request> work,
                                                  RequestResult[] results, AtomicInteger next) {
        int i = next.getAndIncrement();
        if (i >= work.size()) {
            return CompletableFuture.completedFuture(null);
        }
        return engine.processRequest(work.get(i)).thenCompose(r -> {
            results[i] = r;
            return client(engine, work, results, next);
        });
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
