package dev.ultrakv.kvcache.policy;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The what-if shadows that steer ADAPTIVE: what they hold, what scores, and how large caches are sampled. */
class ShadowCachesTest {

    @Test
    void aSecondReferenceOfAHeldKeyScoresBothShadows() {
        var shadows = new ShadowCaches(8);
        assertEquals(0, shadows.reference(1, true));
        assertEquals(ShadowCaches.RECENCY_HIT | ShadowCaches.FREQUENCY_HIT, shadows.reference(1, true));
        double[] scores = shadows.scores();
        assertEquals(1.0, scores[0], 1e-9);
        assertEquals(1.0, scores[1], 1e-9);
    }

    @Test
    void anUnscoredReferenceIsHeldButScoresNothing() {
        var shadows = new ShadowCaches(8);
        shadows.reference(1, false);
        assertEquals(0, shadows.reference(1, false), "a generated block computed again scores nothing");
        assertArrayEquals(new double[] {0, 0}, shadows.scores());
        assertArrayEquals(new int[] {1, 1}, shadows.sizes(), "but the shadows hold it, as a real cache would");
        assertEquals(ShadowCaches.RECENCY_HIT | ShadowCaches.FREQUENCY_HIT, shadows.reference(1, true));
    }

    @Test
    void theShadowsDisagreeWhereRecencyAndFrequencyDo() {
        var shadows = new ShadowCaches(2);
        shadows.reference(1, true);
        shadows.reference(1, true); // 1 is used twice
        shadows.reference(2, true);
        shadows.reference(3, true); // LRU drops 1, LFU drops 2 (the oldest with one use)
        assertEquals(ShadowCaches.RECENCY_HIT, shadows.reference(2, true));
        assertEquals(ShadowCaches.FREQUENCY_HIT, shadows.reference(1, true));
    }

    @Test
    void smallCachesSeeEveryKey() {
        int capacity = 2 * ShadowCaches.SAMPLED_BLOCKS - 1;
        var shadows = new ShadowCaches(capacity);
        for (long key = 0; key < capacity; key++) {
            shadows.reference(key, true);
        }
        assertArrayEquals(new int[] {capacity, capacity}, shadows.sizes());
    }

    @Test
    void largeCachesAreJudgedOnAUniformSampleOfKeys() {
        int capacity = 16 * ShadowCaches.SAMPLED_BLOCKS; // a sixteenth of the keys, shadows of SAMPLED_BLOCKS
        var shadows = new ShadowCaches(capacity);
        var random = new SplittableRandom(5);
        int keys = 4 * ShadowCaches.SAMPLED_BLOCKS;
        for (int i = 0; i < keys; i++) {
            shadows.reference(random.nextLong(), true);
        }
        int held = shadows.sizes()[0];
        assertTrue(held > keys / 16 * 0.8 && held < keys / 16 * 1.2, held + " of " + keys + " keys sampled");
        for (int i = 0; i < 20 * ShadowCaches.SAMPLED_BLOCKS; i++) {
            shadows.reference(random.nextLong(), true);
        }
        assertArrayEquals(new int[] {ShadowCaches.SAMPLED_BLOCKS, ShadowCaches.SAMPLED_BLOCKS}, shadows.sizes(),
                "each shadow holds capacity / 16 keys");
    }
}
