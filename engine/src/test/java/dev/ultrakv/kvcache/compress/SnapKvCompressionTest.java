package dev.ultrakv.kvcache.compress;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SnapKvCompressionTest {
    private static final int PROMPT = 200;
    /** The prompt's observation window begins here. */
    private static final int WINDOW_START = PROMPT - SnapKvSelection.OBSERVATION_WINDOW;
    /** What the window's queries attend to: far enough apart that their pooled neighbourhoods do not touch. */
    private static final int[] WINDOW_TARGETS = {6, 18, 30, 42, 54};
    /** What the queries before the window attend to: they do not vote. */
    private static final int EARLY_TARGET = 150;
    /** What the generated queries attend to: the first generated position. */
    private static final int GENERATED_TARGET = PROMPT;

    private static final CompressingStoreModel.Rows ROWS = (store, layer, head, length) -> {
        int position = store.positions() - 1;
        int kvHead = store.kvHeadOf(head);
        if (position < WINDOW_START) {
            return position > EARLY_TARGET ? AttentionRows.spiked(length, 0.9, EARLY_TARGET)
                    : AttentionRows.uniform(length);
        }
        if (position < PROMPT) {
            return AttentionRows.spiked(length, 0.15, WINDOW_TARGETS);
        }
        int target = store.entryOf(layer, kvHead, GENERATED_TARGET);
        return target >= 0 && target < length - 1 ? AttentionRows.spiked(length, 0.5, target)
                : AttentionRows.uniform(length);
    };

    @Test
    void keepsTheWindowAndWhatItAttendsTo_withItsPooledNeighbours() {
        var store = new CompressingStoreModel(CompressionMethod.SNAPKV, 2, 4, 2, PROMPT, 0.25);
        store.append(PROMPT, ROWS);
        int radius = SnapKvSelection.POOLING_KERNEL / 2;
        int[] clusters = Arrays.stream(WINDOW_TARGETS).flatMap(t -> IntStream.rangeClosed(t - radius, t + radius))
                .toArray();
        int[] expected = IntStream.concat(Arrays.stream(clusters), IntStream.range(WINDOW_START, PROMPT)).toArray();
        int keep = expected.length;
        assertEquals(67, keep, "a budget that leaves the whole window");
        for (int[][] layer : store.compressor.select(PROMPT, keep)) {
            for (int[] kept : layer) {
                assertArrayEquals(expected, kept, "the early queries' target " + EARLY_TARGET + " is not voted");
            }
        }
    }

    @Test
    void aSmallBudgetCapsTheWindowAtHalf_andTiesGoToTheLowerIndex() {
        var store = new CompressingStoreModel(CompressionMethod.SNAPKV, 1, 2, 1, PROMPT, 0.25);
        store.append(PROMPT, ROWS);
        int[] kept = store.compressor.select(PROMPT, 10)[0][0];
        assertArrayEquals(new int[] {3, 4, 5, 6, 7, 195, 196, 197, 198, 199}, kept);
    }

    @Test
    void generatedQueriesKeepVotingAfterThePromptIsCompacted() {
        var store = new CompressingStoreModel(CompressionMethod.SNAPKV, 2, 4, 2, PROMPT, 0.25);
        store.append(PROMPT, ROWS);
        assertTrue(store.compactIfDue());
        assertEquals(-1, store.entryOf(0, 0, EARLY_TARGET), "attended only before the window: dropped");
        for (int step = 0; step < 120; step++) {
            store.append(ROWS);
            store.compactIfDue();
        }
        assertTrue(store.compactions() >= 3, store.compactions() + " compactions");
        int windowStart = store.positions() - SnapKvSelection.OBSERVATION_WINDOW;
        assertTrue(GENERATED_TARGET < windowStart, "the target is no longer in the recent window");
        for (int l = 0; l < store.layers; l++) {
            for (int g = 0; g < store.kvHeads; g++) {
                assertTrue(store.entryOf(l, g, GENERATED_TARGET) >= 0, "layer " + l + ", KV head " + g);
            }
        }
    }

    @Test
    void theQueryHeadsOfAGroupVoteTogether() {
        var compressor = KvCompressor.create(CompressionMethod.SNAPKV, 1, 2, 1, 20);
        compressor.observe(0, 0, 19, HeavyHitterCompressionTest.spikes(20, 2, 0.4f, 10, 0.3f), 20);
        compressor.observe(0, 1, 19, HeavyHitterCompressionTest.spikes(20, 17, 0.4f, 10, 0.3f), 20);
        // keep 2: the window is entry 19; entry 10's pooled 0.6 beats the 0.4 of entries 2 and 17.
        assertArrayEquals(new int[] {7, 19}, compressor.select(20, 2)[0][0],
                "the lowest entry of the pooled cluster around 10");
    }
}
