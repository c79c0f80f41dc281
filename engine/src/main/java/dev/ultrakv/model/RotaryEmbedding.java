package dev.ultrakv.model;

import java.util.Objects;

/**
 * The rotary position embedding of one model: head element pairs (as {@link RopeStyle} pairs them) turn by
 * {@code position · scale · freq_i}, where {@code freq_i = theta^(-2i / headSize) / factor_i}. Frequencies are
 * computed once; the angles of a position once per call, in float as llama2.c's run.c computes them
 * ({@code powf}, {@code cosf}, {@code sinf} of a float angle), so an unscaled Llama gives run.c's bits.
 */
final class RotaryEmbedding {
    private final int headSize;
    private final RopeStyle style;
    /** (headSize / 2): the angle per position of each pair, scale and factors applied. */
    private final float[] frequencies;

    /**
     * @param factors the per-pair frequency divisors of the file ({@code rope_freqs.weight}), or null for none
     */
    RotaryEmbedding(LlamaConfig c, float[] factors) {
        this.headSize = c.headSize();
        this.style = c.ropeStyle();
        int pairs = headSize / 2;
        frequencies = new float[pairs];
        for (int p = 0; p < pairs; p++) {
            float freq = 1.0f / (float) Math.pow(c.ropeTheta(), (2 * p) / (float) headSize);
            if (factors != null) {
                freq /= factors[p];
            }
            frequencies[p] = freq * c.ropeScale();
        }
    }

    /** Rotates {@code headCount} heads of {@code headSize} floats from {@code offset} to {@code position}. */
    void rotate(float[] x, int offset, int headCount, int position) {
        Objects.checkFromIndexSize(offset, (long) headCount * headSize, x.length);
        int pairs = headSize / 2;
        float[] cos = new float[pairs];
        float[] sin = new float[pairs];
        for (int p = 0; p < pairs; p++) {
            float angle = position * frequencies[p];
            cos[p] = (float) Math.cos(angle);
            sin[p] = (float) Math.sin(angle);
        }
        // The first element of pair p is at first(p), its partner `partner` further on.
        int stride = style == RopeStyle.ADJACENT_PAIRS ? 2 : 1;
        int partner = style == RopeStyle.ADJACENT_PAIRS ? 1 : pairs;
        for (int h = 0; h < headCount; h++) {
            int base = offset + h * headSize;
            for (int p = 0; p < pairs; p++) {
                int i = base + stride * p;
                float v0 = x[i];
                float v1 = x[i + partner];
                x[i] = v0 * cos[p] - v1 * sin[p];
                x[i + partner] = v0 * sin[p] + v1 * cos[p];
            }
        }
    }
}
