package dev.ultrakv.kvcache.compress;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class HeavyHitterCompressionTest {
    private static final int PROMPT = 64;
    /** Positions the prompt's queries attend to. */
    private static final int[] PLANTED = {2, 5, 11, 17, 23, 30, 41, 47};

    /**
     * Each prompt query puts half its attention on itself and spreads half over the planted positions before it
     * (all on itself if none): a planted entry collects far more than any other, which only gets its own query's.
     * Generated queries attend to themselves only, so planted entries keep only the votes the prompt gave them.
     */
    private static final CompressingStoreModel.Rows HEAVY_HITTERS = (store, layer, head, length) -> {
        if (store.positions() > PROMPT) {
            float[] self = new float[length];
            self[length - 1] = 1;
            return self;
        }
        int kvHead = store.kvHeadOf(head);
        int[] spikes = Arrays.stream(PLANTED).map(p -> store.entryOf(layer, kvHead, p))
                .filter(e -> e >= 0 && e < length - 1).toArray();
        float[] row = new float[length];
        row[length - 1] = spikes.length == 0 ? 1f : 0.5f;
        for (int e : spikes) {
            row[e] = 0.5f / spikes.length;
        }
        return row;
    };

    @Test
    void plantedHeavyHittersAndTheRecentHalfStay() {
        var store = new CompressingStoreModel(CompressionMethod.H2O, 2, 4, 2, PROMPT, 0.25);
        store.append(PROMPT, HEAVY_HITTERS);
        int[] expected = IntStream.concat(Arrays.stream(PLANTED), IntStream.range(56, 64)).toArray();
        int[][][] kept = store.compressor.select(PROMPT, 16);
        for (int[][] layer : kept) {
            for (int[] heads : layer) {
                assertArrayEquals(expected, heads);
            }
        }
    }

    @Test
    void votesFollowTheirEntries_soHeavyHittersSurviveCompactionAfterCompaction() {
        var store = new CompressingStoreModel(CompressionMethod.H2O, 2, 4, 2, PROMPT, 0.25);
        store.append(PROMPT, HEAVY_HITTERS);
        assertTrue(store.compactIfDue(), "the prompt is compacted when its prefill ends");
        for (int step = 0; step < 150; step++) {
            store.append(HEAVY_HITTERS);
            store.compactIfDue();
            for (int l = 0; l < store.layers; l++) {
                for (int g = 0; g < store.kvHeads; g++) {
                    for (int position : PLANTED) {
                        assertTrue(store.entryOf(l, g, position) >= 0,
                                "position " + position + " held at position " + store.positions());
                    }
                }
            }
        }
        assertTrue(store.compactions() > 3, store.compactions() + " compactions");
    }

    @Test
    void theQueryHeadsOfAGroupVoteTogether() {
        var compressor = KvCompressor.create(CompressionMethod.H2O, 1, 4, 2, 10);
        // KV head 0: entry 5 has 0.3 + 0.3 from the group, more than entries 2 and 7 with 0.4 from one head each.
        compressor.observe(0, 0, 9, spikes(10, 2, 0.4f, 5, 0.3f), 10);
        compressor.observe(0, 1, 9, spikes(10, 7, 0.4f, 5, 0.3f), 10);
        // KV head 1 (query heads 2 and 3) votes for entry 1 instead.
        compressor.observe(0, 2, 9, spikes(10, 1, 0.5f, 3, 0.1f), 10);
        compressor.observe(0, 3, 9, spikes(10, 1, 0.5f, 4, 0.1f), 10);
        int[][][] kept = compressor.select(10, 2);
        assertArrayEquals(new int[] {5, 9}, kept[0][0]);
        assertArrayEquals(new int[] {1, 9}, kept[0][1]);
    }

    /** A row with two spikes and the rest spread evenly. */
    static float[] spikes(int length, int first, float firstWeight, int second, float secondWeight) {
        float[] row = new float[length];
        Arrays.fill(row, (1 - firstWeight - secondWeight) / (length - 2));
        row[first] = firstWeight;
        row[second] = secondWeight;
        return row;
    }
}
