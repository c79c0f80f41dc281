package dev.ultrakv.kvcache.compress;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class CompressionTallyTest {

    @Test
    void addsProbabilitiesInFixedPoint() {
        var tally = new AttentionTally();
        tally.add(new float[] {0.25f, 0.75f}, 2);
        tally.add(new float[] {0.5f, 0.25f, 0.25f}, 3);
        long unit = 1L << AttentionTally.FRACTION_BITS;
        assertArrayEquals(new long[] {unit * 3 / 4, unit, unit / 4, 0}, tally.snapshot(4));
        assertEquals(3, tally.observed());
    }

    @Test
    void compactionRenumbersVotesAndForgetsTheDropped() {
        var tally = new AttentionTally();
        tally.add(new float[] {0.1f, 0.2f, 0.3f, 0.4f}, 4);
        long[] before = tally.snapshot(6);
        tally.compact(new int[] {1, 3, 5});
        assertArrayEquals(new long[] {before[1], before[3], 0}, tally.snapshot(3));
        assertEquals(3, tally.observed());
        tally.add(new float[] {0f, 0f, 0f, 1f}, 4);
        assertArrayEquals(new long[] {before[1], before[3], 0, 1L << AttentionTally.FRACTION_BITS},
                tally.snapshot(4));
    }

    @Test
    void aDiscardedPassCountsNothingSoRunningItAgainCountsItOnce() {
        var once = new AttentionTally();
        once.add(new float[] {0.5f, 0.5f}, 2);
        once.add(new float[] {0.2f, 0.3f, 0.5f}, 3);

        var retried = new AttentionTally();
        retried.add(new float[] {0.5f, 0.5f}, 2);
        retried.commit();
        retried.add(new float[] {0.2f, 0.3f, 0.5f}, 3);
        retried.discard();
        assertEquals(2, retried.observed(), "the discarded pass covered nothing");
        retried.add(new float[] {0.2f, 0.3f, 0.5f}, 3);
        assertArrayEquals(once.snapshot(3), retried.snapshot(3));
        assertEquals(3, retried.observed());
    }
}
