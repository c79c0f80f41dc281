package dev.ultrakv.bench.suite;

import dev.ultrakv.KVCacheConfig;

/**
 * Measures how much a cache configuration changes the model's output against the float32 cache: the quality
 * figures of the configurations benchmark. {@link HarnessQualityProbe} measures them with the quality harness;
 * {@link #NOT_MEASURED} reports that nothing was measured (for runs that do not need them).
 */
@FunctionalInterface
public interface QualityProbe {
    /** A probe that measures nothing and says so. */
    QualityProbe NOT_MEASURED = config -> QualityFigures.notMeasured(
            "not measured in this run");

    /**
     * The quality figures of {@code config} against the same configuration with a float32, uncompressed cache.
     * A probe that cannot measure a configuration returns {@link QualityFigures#notMeasured}.
     */
    QualityFigures measure(KVCacheConfig config);
}
