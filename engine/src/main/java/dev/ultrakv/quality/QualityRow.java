package dev.ultrakv.quality;

/**
 * One line of a {@link QualityReport}: a candidate's quality over some runs and what its cache costs.
 *
 * @param candidate        the cache setting
 * @param length           the text length of the runs aggregated, or {@link #ALL_LENGTHS}
 * @param stats            its quality against the reference
 * @param kvBytesPerToken  K/V bytes per position of one sequence of {@code length} tokens (the model's context
 *                         length for {@link #ALL_LENGTHS}), as the candidate's cache counts them
 * @param float32Fraction  {@code kvBytesPerToken} over the bytes per position of float32 K/V
 * @param bitsPerValue     {@code kvBytesPerToken × 8 / (2 × layers × kvDim)}: bits per stored key or value
 *                         element, scales and windows included
 */
public record QualityRow(KvCandidate candidate, int length, QualityStats stats, double kvBytesPerToken,
                         double float32Fraction, double bitsPerValue) {
    /** {@link #length()} of a row aggregated over every length run. */
    public static final int ALL_LENGTHS = 0;
}
