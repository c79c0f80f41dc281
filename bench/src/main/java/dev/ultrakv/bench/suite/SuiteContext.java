package dev.ultrakv.bench.suite;

import dev.ultrakv.CacheStrategy;
import dev.ultrakv.KVCacheConfig;
import dev.ultrakv.Request;

import java.util.Objects;

/**
 * What every benchmark of a suite run shares: the settings, the model, the words its workloads are written in,
 * the progress bar and the quality probe.
 *
 * @param settings the counts and lists
 * @param model    the model every engine loads
 * @param alphabet words for the generated workloads, from the model's tokenizer
 * @param progress where progress is shown
 * @param quality  measures the quality figures of a configuration
 */
public record SuiteContext(SuiteSettings settings, SuiteModel model, WordAlphabet alphabet, Progress progress,
                           QualityProbe quality) {

    /** Checks the values. */
    public SuiteContext {
        Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(alphabet, "alphabet");
        Objects.requireNonNull(progress, "progress");
        Objects.requireNonNull(quality, "quality");
    }

    /** A context for {@code model} with its alphabet. */
    public static SuiteContext of(SuiteSettings settings, SuiteModel model, Progress progress, QualityProbe quality) {
        return new SuiteContext(settings, model, WordAlphabet.of(model.tokenizer()), progress, quality);
    }

    /** A configuration builder for the suite's model with a cache of {@code maxTokens} and the given strategy. */
    public KVCacheConfig.Builder config(int maxTokens, CacheStrategy strategy) {
        return KVCacheConfig.builder().model(model.source()).maxTokens(maxTokens).cacheStrategy(strategy);
    }

    /** The suite's default configuration: {@link SuiteSettings#maxTokens()} tokens, ADAPTIVE. */
    public KVCacheConfig baseConfig() {
        return config(settings.maxTokens(), CacheStrategy.ADAPTIVE).build();
    }

    /** A greedy request for {@code text} at the guide's priority 1, generating the suite's tokens. */
    public Request request(String text) {
        return Request.builder().text(text).priority(1).maxNewTokens(settings.maxNewTokens()).build();
    }
}
