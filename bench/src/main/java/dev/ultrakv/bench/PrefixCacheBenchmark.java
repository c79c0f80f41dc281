package dev.ultrakv.bench;

import dev.ultrakv.CacheStrategy;
import dev.ultrakv.KVCacheConfig;
import dev.ultrakv.ModelSource;
import dev.ultrakv.Request;
import dev.ultrakv.RequestResult;
import dev.ultrakv.UltraAdaptiveKVCacheEngine;
import dev.ultrakv.model.synthetic.SyntheticShape;

import java.util.Locale;
import java.util.SplittableRandom;
import java.util.function.ToIntFunction;

/**
 * Time to first token of a long prompt uncached and then cached, through the engine API on one engine: the
 * figure prefix caching exists for. Each distinct prompt is sent twice in a row; the first is a miss that
 * prefills every token, the second a full hit that recomputes only the last position's logits.
 */
public final class PrefixCacheBenchmark {
    /** Words the prompts are drawn from; the synthetic vocabulary has pieces for them. */
    private static final String[] WORDS = ("the a little girl named lily loved to play outside in park one day she "
            + "saw big red ball wanted with it but was too high mom said let us go sad and did not know what do "
            + "tom dog ran fast happy sun tree house friend cat").split(" ");
    /** Short requests run first so that the kernels are compiled before anything is timed. */
    private static final int WARMUP_REQUESTS = 3;

    /**
     * The figures of one run.
     *
     * @param uncachedMillis median time to first token of the misses
     * @param cachedMillis   median time to first token of the full hits
     */
    public record Result(String shape, int promptTokens, int prompts, double uncachedMillis, double cachedMillis,
                         int cachedPromptTokens) {

        /** How many times sooner a cached prompt reaches its first token. */
        public double speedup() {
            return uncachedMillis / cachedMillis;
        }

        /** A small table for people. */
        public String format() {
            return String.format(Locale.ROOT, """
                    model                 %s, prompts of %d tokens, %d prompts each sent twice
                    uncached TTFT         %.1f ms (median)
                    cached TTFT           %.1f ms (median; %d of %d prompt tokens from the cache)
                    speed-up              %.1fx
                    """, shape, promptTokens, prompts, uncachedMillis, cachedMillis, cachedPromptTokens,
                    promptTokens, speedup());
        }
    }

    private PrefixCacheBenchmark() {
    }

    /** Runs the benchmark on a synthetic model of {@code shape}. */
    public static Result run(SyntheticShape shape, int promptTokens, int prompts, long seed) {
        if (promptTokens < 2 || promptTokens > shape.contextLength() - 1 || prompts < 1) {
            throw new IllegalArgumentException("prompt tokens must be in [2, " + (shape.contextLength() - 1)
                    + "] and prompts >= 1: got " + promptTokens + ", " + prompts);
        }
        KVCacheConfig config = KVCacheConfig.builder()
                .maxTokens(Math.max(4 * promptTokens * (prompts + 1), 4096))
                .cacheStrategy(CacheStrategy.ADAPTIVE)
                .model(ModelSource.synthetic(shape, seed))
                .build();
        double[] uncached = new double[prompts];
        double[] cached = new double[prompts];
        int cachedTokens = 0;
        try (UltraAdaptiveKVCacheEngine engine = new UltraAdaptiveKVCacheEngine(config)) {
            ToIntFunction<String> tokenCount = text -> engine.tokenize(text, true).length;
            for (int i = 0; i < WARMUP_REQUESTS; i++) {
                engine.processRequest(request(prompt(tokenCount, 64, seed + 1000 + i))).join();
            }
            for (int p = 0; p < prompts; p++) {
                String text = prompt(tokenCount, promptTokens, seed + p);
                RequestResult miss = engine.processRequest(request(text)).join();
                RequestResult hit = engine.processRequest(request(text)).join();
                if (miss.cacheHit() || !hit.cacheHit()) {
                    throw new IllegalStateException("expected a miss then a hit, got " + miss + " then " + hit);
                }
                uncached[p] = miss.timeToFirstToken().toNanos() / 1e6;
                cached[p] = hit.timeToFirstToken().toNanos() / 1e6;
                cachedTokens = hit.cachedPromptTokens();
            }
        }
        return new Result(shape.name(), promptTokens, prompts, RooflineBenchmark.median(uncached),
                RooflineBenchmark.median(cached), cachedTokens);
    }

    private static Request request(String text) {
        return Request.builder().text(text).priority(2).maxNewTokens(1).build();
    }

    /** Attempts at a word before {@link #prompt} gives up on a tokenizer that cannot reach the length. */
    private static final int MAX_PROMPT_ATTEMPTS = 100_000;

    /**
     * Random words until the prompt (BOS included) is exactly {@code tokens} tokens long.
     *
     * @param tokenCount the tokens of a text with BOS, by the model's tokenizer
     */
    static String prompt(ToIntFunction<String> tokenCount, int tokens, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        StringBuilder text = new StringBuilder();
        for (int attempt = 0; attempt < MAX_PROMPT_ATTEMPTS; attempt++) {
            int before = text.length();
            text.append(before == 0 ? "" : " ").append(WORDS[random.nextInt(WORDS.length)]);
            int length = tokenCount.applyAsInt(text.toString());
            if (length == tokens) {
                return text.toString();
            }
            if (length > tokens) {
                text.setLength(before);
                // Fill the last few tokens with single letters, one token each.
                while (tokenCount.applyAsInt(text.toString()) < tokens) {
                    text.append(" a");
                }
                if (tokenCount.applyAsInt(text.toString()) == tokens) {
                    return text.toString();
                }
                text.setLength(before);
            }
        }
        throw new IllegalStateException("no prompt of exactly " + tokens + " tokens found from random words in "
                + MAX_PROMPT_ATTEMPTS + " attempts");
    }
}
