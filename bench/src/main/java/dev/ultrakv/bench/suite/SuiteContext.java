package dev.ultrakv.bench.suite;

import dev.ultrakv.CacheStrategy;
import dev.ultrakv.KVCacheConfig;
import dev.ultrakv.Request;
import dev.ultrakv.UltraAdaptiveKVCacheEngine;

import java.util.Objects;

/**
 * What every benchmark of a suite run shares: the settings, the model, the words its workloads are written in,
 * the progress bar, the quality probe, and the engines with their KV tiers.
 *
 * @param settings the counts and lists
 * @param model    the model every engine loads
 * @param alphabet words for the generated workloads, from the model's tokenizer
 * @param progress where progress is shown
 * @param quality  measures the quality figures of a configuration
 * @param engines  starts every engine of the run, with the run's KV tiers
 */
public record SuiteContext(SuiteSettings settings, SuiteModel model, WordAlphabet alphabet, Progress progress,
                           QualityProbe quality, SuiteEngines engines) {

    /** Checks the values. */
    public SuiteContext {
        Objects.requireNonNull(settings, "settings");
        Objects.requireNonNull(model, "model");
        Objects.requireNonNull(alphabet, "alphabet");
        Objects.requireNonNull(progress, "progress");
        Objects.requireNonNull(quality, "quality");
        Objects.requireNonNull(engines, "engines");
    }

    /** A context for {@code model} with its alphabet, whose engines keep their KV blocks in memory only. */
    public static SuiteContext of(SuiteSettings settings, SuiteModel model, Progress progress, QualityProbe quality) {
        return of(settings, model, progress, quality, SuiteTiers.NONE);
    }

    /** A context for {@code model} with its alphabet, whose engines each get a fresh set of {@code tiers}. */
    public static SuiteContext of(SuiteSettings settings, SuiteModel model, Progress progress, QualityProbe quality,
                                  SuiteTiers tiers) {
        return new SuiteContext(settings, model, WordAlphabet.of(model.tokenizer()), progress, quality,
                new SuiteEngines(tiers));
    }

    /** A configuration builder for the suite's model with a cache of {@code maxTokens} and the given strategy. */
    public KVCacheConfig.Builder config(int maxTokens, CacheStrategy strategy) {
        return KVCacheConfig.builder().model(model.source()).maxTokens(maxTokens).cacheStrategy(strategy);
    }

    /**
     * The suite's default configuration: {@link SuiteSettings#maxTokens()} tokens, ADAPTIVE. Without the tiers:
     * {@link #engine} adds a fresh set of them to each engine's configuration.
     */
    public KVCacheConfig.Builder baseConfig() {
        return config(settings.maxTokens(), CacheStrategy.ADAPTIVE);
    }

    /**
     * Starts an engine of {@code builder}'s configuration with a fresh set of the run's KV tiers; the builder is
     * spent. Close it before starting the next (see {@link SuiteEngines}).
     *
     * @param label names the engine in the report's tier figures, e.g. {@code concurrency 50}
     */
    public UltraAdaptiveKVCacheEngine engine(String label, KVCacheConfig.Builder builder) {
        return engines.start(label, builder);
    }

    /** A greedy request for {@code text} at the guide's priority 1, generating the suite's tokens. */
    public Request request(String text) {
        return Request.builder().text(text).priority(1).maxNewTokens(settings.maxNewTokens()).build();
    }
}
