package dev.ultrakv.quality;

/**
 * Next-token distributions from logits, in double precision: log-softmax and the Kullback-Leibler divergence.
 *
 * <h2>Notes</h2>
 * <b>Why double, from log-softmax.</b> The divergences of a good KV codec are around 1e-5 nats, a sum of
 * vocabulary-many terms each far smaller; in float the rounding of the probabilities alone is larger. Taking
 * {@code log p} as {@code x - max - log Σ exp(x - max)} in double keeps every term finite (no {@code log 0}) and
 * makes identical logits give identical log-probabilities, hence a divergence of exactly 0.
 */
public final class TokenDistributions {

    private TokenDistributions() {
    }

    /**
     * Writes {@code log softmax(logits[offset, offset + n))} to {@code out[0, n)}.
     *
     * @throws IllegalArgumentException if {@code n <= 0} or {@code out} is shorter than {@code n}
     */
    public static void logSoftmax(float[] logits, int offset, int n, double[] out) {
        if (n <= 0 || out.length < n) {
            throw new IllegalArgumentException("log-softmax of " + n + " values into " + out.length);
        }
        double max = Double.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, logits[offset + i]);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += Math.exp(logits[offset + i] - max);
        }
        double logNormalizer = max + Math.log(sum);
        for (int i = 0; i < n; i++) {
            out[i] = logits[offset + i] - logNormalizer;
        }
    }

    /** {@code log softmax(logits)} as a new array. */
    public static double[] logSoftmax(float[] logits) {
        double[] out = new double[logits.length];
        logSoftmax(logits, 0, logits.length, out);
        return out;
    }

    /**
     * {@code KL(p ‖ q) = Σ p_i (log p_i - log q_i)} in nats, from log-probabilities over the first {@code n} entries.
     * Not negative for distributions (rounding aside); 0 exactly when the two arrays are equal.
     */
    public static double klDivergence(double[] logP, double[] logQ, int n) {
        double sum = 0;
        for (int i = 0; i < n; i++) {
            double difference = logP[i] - logQ[i];
            if (difference != 0) {
                sum += Math.exp(logP[i]) * difference;
            }
        }
        return sum;
    }
}
