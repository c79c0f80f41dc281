package dev.ultrakv.bench.suite;

/**
 * How far a cache configuration's next-token distributions are from the float32 cache's on the same text.
 * The figures are null when not measured.
 *
 * @param measured           whether the figures were measured
 * @param klDivergence       mean KL divergence of the reference distribution from this one, in nats
 * @param top1Agreement      share of positions whose most likely token is the reference's
 * @param perplexity         perplexity of the text under this configuration
 * @param referencePerplexity perplexity under the float32 cache
 * @param note               why nothing was measured, or how it was
 */
public record QualityFigures(boolean measured, Double klDivergence, Double top1Agreement, Double perplexity,
                             Double referencePerplexity, String note) {

    /** Figures that were not measured, with the reason. */
    public static QualityFigures notMeasured(String reason) {
        return new QualityFigures(false, null, null, null, null, reason);
    }
}
