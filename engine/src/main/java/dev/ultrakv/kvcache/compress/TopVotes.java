package dev.ultrakv.kvcache.compress;

import java.util.Arrays;

/**
 * Picks the entries with the most votes: the {@code count} largest of {@code votes[0, candidates)}, ties going to
 * the lower index, returned as ascending indices.
 *
 * <p>Finds the {@code count}-th largest vote by selection (expected linear time: a quickselect with a
 * median-of-three pivot and a three-way partition, so plateaus of equal votes, common after max pooling and for
 * entries never attended to, cost one pass), then takes every vote above it and the lowest-indexed votes equal to
 * it. After {@value #SELECT_ROUNDS_PER_LOG} rounds per halving of the input without finishing, the remaining
 * range is sorted instead (introselect), which bounds the worst case at {@code O(n log n)}.
 */
final class TopVotes {
    /** Partition rounds allowed per expected halving before falling back to sorting (introselect's bound). */
    static final int SELECT_ROUNDS_PER_LOG = 2;

    private TopVotes() {
    }

    /**
     * The indices of the {@code count} largest of {@code votes[0, candidates)}, ascending; among equal votes the
     * lower indices are taken.
     *
     * @throws IllegalArgumentException unless {@code 0 <= count <= candidates <= votes.length}
     */
    static int[] largest(long[] votes, int candidates, int count) {
        if (candidates < 0 || candidates > votes.length || count < 0 || count > candidates) {
            throw new IllegalArgumentException("cannot pick " + count + " of " + candidates + " candidates among "
                    + votes.length + " votes");
        }
        int[] chosen = new int[count];
        if (count == candidates) {
            Arrays.setAll(chosen, i -> i);
            return chosen;
        }
        if (count == 0) {
            return chosen;
        }
        long[] scratch = Arrays.copyOf(votes, candidates);
        long threshold = nthSmallest(scratch, candidates - count);
        int above = 0;
        for (int i = 0; i < candidates; i++) {
            if (votes[i] > threshold) {
                above++;
            }
        }
        int ties = count - above;
        int n = 0;
        for (int i = 0; i < candidates && n < count; i++) {
            long vote = votes[i];
            if (vote > threshold || (vote == threshold && ties-- > 0)) {
                chosen[n++] = i;
            }
        }
        return chosen;
    }

    /** The value of rank {@code rank} (0 = smallest) of {@code values}, which it reorders. */
    static long nthSmallest(long[] values, int rank) {
        int lo = 0;
        int hi = values.length - 1;
        int roundsLeft = SELECT_ROUNDS_PER_LOG * (Integer.SIZE - Integer.numberOfLeadingZeros(values.length));
        while (lo < hi) {
            if (roundsLeft-- == 0) {
                Arrays.sort(values, lo, hi + 1);
                return values[rank];
            }
            long pivot = medianOfThree(values[lo], values[lo + (hi - lo) / 2], values[hi]);
            // Three-way partition: [lo, lt) < pivot, [lt, i) == pivot, (gt, hi] > pivot.
            int lt = lo;
            int gt = hi;
            int i = lo;
            while (i <= gt) {
                long v = values[i];
                if (v < pivot) {
                    swap(values, lt++, i++);
                } else if (v > pivot) {
                    swap(values, i, gt--);
                } else {
                    i++;
                }
            }
            if (rank < lt) {
                hi = lt - 1;
            } else if (rank > gt) {
                lo = gt + 1;
            } else {
                return pivot;
            }
        }
        return values[rank];
    }

    private static long medianOfThree(long a, long b, long c) {
        return Math.max(Math.min(a, b), Math.min(Math.max(a, b), c));
    }

    private static void swap(long[] values, int i, int j) {
        long t = values[i];
        values[i] = values[j];
        values[j] = t;
    }
}
