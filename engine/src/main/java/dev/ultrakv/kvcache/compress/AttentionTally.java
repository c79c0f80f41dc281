package dev.ultrakv.kvcache.compress;

import java.util.Arrays;

/**
 * The attention one (layer, KV head) has received so far: per entry, the sum over the counted queries of every
 * query head of the group of the probability it gave that entry, in fixed point.
 *
 * <h2>Why fixed point</h2>
 * The store reports rows and heads from several threads in any order. A float or double sum would depend on that
 * order (addition does not associate in floating point), and so would a selection at a tie. Each probability is
 * rounded once to a multiple of 2<sup>-{@value #FRACTION_BITS}</sup> and the multiples are added as longs: integer
 * addition associates, so the totals, and every selection made from them, are the same bit for bit whatever the
 * order. Rounding costs at most 2<sup>-33</sup> per probability, far below any difference a selection acts on.
 *
 * <h2>Why {@value #FRACTION_BITS} fraction bits</h2>
 * The resolution is 2.3e-10: attention weights below it count as zero. The headroom is 2<sup>31</sup> whole units
 * per entry, that is 2<sup>31</sup> query heads giving an entry all their attention; a 128K-token context with
 * groups of 8 query heads is 2<sup>20</sup>. 40 bits would leave 2<sup>23</sup>, which a 1M-token context with
 * groups of 8 reaches.
 *
 * <h2>Concurrency</h2>
 * One monitor per tally: the query heads of a group add into the same array, so they take turns; other groups and
 * layers proceed in parallel. A lock held for one pass over a row is cheaper than an atomic add per entry (a
 * locked instruction each, with false sharing between neighbouring entries) and keeps the loop a plain one the
 * JIT can unroll: 0.4 to 1.8 ns per entry against 19 to 22 ns for {@code AtomicLongArray.getAndAdd}, measured
 * over rows of 4,096 entries (docs/compression.md). The monitor also publishes the remapped array to the threads
 * that add after a compaction.
 */
final class AttentionTally {
    /** Fraction bits of the fixed point: a 2.3e-10 resolution and 2^31 units of headroom per entry. */
    static final int FRACTION_BITS = 32;

    private static final double SCALE = Math.scalb(1.0, FRACTION_BITS);

    /** Fixed-point votes per entry, of the passes committed; entries past {@link #observed} are zero. */
    private long[] votes = new long[0];
    /** Entries the tally covers: the longest row committed, or the entries kept by the last compaction. */
    private int observed;
    /**
     * Votes of the current forward pass, kept apart until it is committed: a pass that fails is discarded, so
     * that running its rows again does not count their attention twice.
     */
    private long[] pending = new long[0];
    /** Entries of {@link #pending} written since the last commit or discard. */
    private int pendingLength;

    /** Adds one query head's attention over entries {@code [0, length)} to the current pass. */
    synchronized void add(float[] probabilities, int length) {
        if (length > pending.length) {
            pending = Arrays.copyOf(pending, Math.max(length, 2 * pending.length));
        }
        long[] v = pending;
        for (int i = 0; i < length; i++) {
            v[i] += Math.round(probabilities[i] * SCALE);
        }
        pendingLength = Math.max(pendingLength, length);
    }

    /** Counts the current pass's votes: its rows ran. */
    synchronized void commit() {
        if (pendingLength == 0) {
            return;
        }
        if (pendingLength > votes.length) {
            votes = Arrays.copyOf(votes, Math.max(pendingLength, 2 * votes.length));
        }
        for (int i = 0; i < pendingLength; i++) {
            votes[i] += pending[i];
        }
        Arrays.fill(pending, 0, pendingLength, 0);
        observed = Math.max(observed, pendingLength);
        pendingLength = 0;
    }

    /** Forgets the current pass's votes: its forward pass failed and its rows will run again. */
    synchronized void discard() {
        Arrays.fill(pending, 0, pendingLength, 0);
        pendingLength = 0;
    }

    /** Entries covered so far: no selection may be made over fewer. */
    synchronized int observed() {
        commit();
        return observed;
    }

    /** A copy of the votes of entries {@code [0, entries)}, zero for entries never attended to. */
    synchronized long[] snapshot(int entries) {
        commit();
        return Arrays.copyOf(votes, entries);
    }

    /** Renumbers after the store kept {@code kept} (ascending): entry {@code i} becomes {@code kept[i]}'s. */
    synchronized void compact(int[] kept) {
        commit();
        long[] remapped = new long[kept.length];
        for (int i = 0; i < kept.length; i++) {
            int from = kept[i];
            remapped[i] = from < votes.length ? votes[from] : 0;
        }
        votes = remapped;
        observed = kept.length;
    }
}
