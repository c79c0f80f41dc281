package dev.ultrakv.sampling;

/**
 * Log-probabilities of a row of logits: {@code log softmax(logits)[i] = logits[i] - logPartition}, computed in
 * double so that a vocabulary of a hundred thousand terms sums without losing the small ones.
 */
public final class Logprobs {
    private Logprobs() {
    }

    /** {@code log Σ exp(logits[i])} over {@code logits[offset, offset + n)}, stable: the largest is factored out. */
    public static double logPartition(float[] logits, int offset, int n) {
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            max = Math.max(max, logits[offset + i]);
        }
        double sum = 0;
        for (int i = 0; i < n; i++) {
            sum += Math.exp(logits[offset + i] - (double) max);
        }
        return max + Math.log(sum);
    }

    /**
     * The {@code k} largest logits' indices, largest first; ties go to the lower index. A partial selection:
     * {@code O(n k)}, with {@code k} at most a few tens.
     */
    public static int[] top(float[] logits, int offset, int n, int k) {
        int count = Math.min(k, n);
        int[] ids = new int[count];
        int size = 0;
        for (int i = 0; i < n; i++) {
            float v = logits[offset + i];
            if (size == count && !(v > logits[offset + ids[size - 1]])) {
                continue;
            }
            int at = size < count ? size++ : size - 1;
            while (at > 0 && v > logits[offset + ids[at - 1]]) {
                ids[at] = ids[at - 1];
                at--;
            }
            ids[at] = i;
        }
        return ids;
    }
}
