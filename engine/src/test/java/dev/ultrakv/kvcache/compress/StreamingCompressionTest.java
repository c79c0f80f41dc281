package dev.ultrakv.kvcache.compress;

import org.junit.jupiter.api.Test;

import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StreamingCompressionTest {

    @Test
    void keepsTheSinksAndTheMostRecentEntries_inEveryHead() {
        var compressor = KvCompressor.create(CompressionMethod.STREAMING, 2, 4, 2, 100);
        assertFalse(compressor.observesAttention());
        int[] expected = IntStream.concat(IntStream.range(0, 4), IntStream.range(84, 100)).toArray();
        for (int[][] layer : compressor.select(100, 20)) {
            for (int[] kept : layer) {
                assertArrayEquals(expected, kept);
            }
        }
    }

    @Test
    void smallBudgetsSplitBetweenSinksAndRecent_theOddEntryToTheSinks() {
        var compressor = KvCompressor.create(CompressionMethod.STREAMING, 1, 1, 1, 100);
        assertArrayEquals(new int[] {0}, compressor.select(100, 1)[0][0]);
        assertArrayEquals(new int[] {0, 99}, compressor.select(100, 2)[0][0]);
        assertArrayEquals(new int[] {0, 1, 99}, compressor.select(100, 3)[0][0]);
        assertArrayEquals(new int[] {0, 1, 2, 3, 97, 98, 99}, compressor.select(100, 7)[0][0]);
        assertArrayEquals(new int[] {0, 1, 2, 3, 96, 97, 98, 99}, compressor.select(100, 8)[0][0]);
    }

    @Test
    void throughALongGeneration_theFirstPositionsAndTheLatestStay() {
        var store = new CompressingStoreModel(CompressionMethod.STREAMING, 2, 2, 1, 40, 0.25);
        CompressingStoreModel.Rows rows = (s, layer, head, length) -> AttentionRows.uniform(length);
        store.append(40, rows);
        store.compactIfDue();
        for (int step = 0; step < 200; step++) {
            store.append(rows);
            store.compactIfDue();
            int recent = store.entries() - StreamingSelection.SINKS;
            int[] expected = IntStream.concat(IntStream.range(0, StreamingSelection.SINKS),
                    IntStream.range(store.positions() - recent, store.positions())).toArray();
            assertArrayEquals(expected, store.positions(1, 0), "after position " + store.positions());
        }
        assertTrue(store.compactions() > 5);
    }
}
