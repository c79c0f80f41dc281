package dev.ultrakv.kvcache.compress;

import java.util.Arrays;
import java.util.SplittableRandom;

/** Softmax rows for tests: probability vectors over a query's entries, built to plant known votes. */
final class AttentionRows {
    /** Binades random weights span: wider than a double's mantissa, so floating-point sums round. */
    static final int RANDOM_RANGE_BITS = 60;

    private AttentionRows() {
    }

    /**
     * A row over {@code length} entries that gives each of {@code spikes} the weight {@code spikeWeight} and
     * spreads the rest evenly over the other entries.
     */
    static float[] spiked(int length, double spikeWeight, int... spikes) {
        float[] row = new float[length];
        double rest = 1 - spikeWeight * spikes.length;
        int others = length - spikes.length;
        if (rest < 0 || (others == 0 && rest > 1e-9)) {
            throw new IllegalArgumentException("spikes do not fit in one row");
        }
        Arrays.fill(row, others == 0 ? 0f : (float) (rest / others));
        for (int spike : spikes) {
            row[spike] = (float) spikeWeight;
        }
        return row;
    }

    /** Evenly spread attention over {@code length} entries. */
    static float[] uniform(int length) {
        return spiked(length, 0);
    }

    /**
     * A random row over {@code length} entries that sums to 1 (up to float rounding), with weights spread over
     * {@value #RANDOM_RANGE_BITS} binades as real softmax rows are: summed in floating point, such rows give
     * different totals in different orders.
     */
    static float[] random(SplittableRandom random, int length) {
        double[] weights = new double[length];
        double sum = 0;
        for (int i = 0; i < length; i++) {
            weights[i] = Math.scalb(1.0 + random.nextDouble(), -random.nextInt(RANDOM_RANGE_BITS));
            sum += weights[i];
        }
        float[] row = new float[length];
        for (int i = 0; i < length; i++) {
            row[i] = (float) (weights[i] / sum);
        }
        return row;
    }
}
