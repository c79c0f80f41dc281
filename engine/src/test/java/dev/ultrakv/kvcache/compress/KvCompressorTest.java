package dev.ultrakv.kvcache.compress;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KvCompressorTest {

    /** Random shapes, prompts, ratios and attention; the store model checks every selection it applies. */
    @ParameterizedTest
    @EnumSource(CompressionMethod.class)
    void everySelectionKeepsExactlyTheShare_ascendingAndDistinct(CompressionMethod method) {
        var random = new SplittableRandom(method.ordinal() * 1_000L + 7);
        for (int trial = 0; trial < 8; trial++) {
            int kvHeads = 1 + random.nextInt(3);
            int heads = kvHeads * (1 + random.nextInt(2));
            int prompt = 1 + random.nextInt(100);
            double ratio = 0.05 + 0.9 * random.nextDouble();
            var store = new CompressingStoreModel(method, 1 + random.nextInt(2), heads, kvHeads, prompt, ratio);
            CompressingStoreModel.Rows rows = (s, layer, head, length) -> AttentionRows.random(random, length);
            store.append(prompt, rows);
            store.compactIfDue();
            for (int step = random.nextInt(100); step > 0; step--) {
                store.append(rows);
                store.compactIfDue();
                assertTrue(store.entries() <= store.keep() + CompressingStoreModel.BLOCK);
            }
            int keep = 1 + random.nextInt(store.entries());
            int[][][] kept = store.compressor.select(store.entries(), keep);
            for (int[][] layer : kept) {
                for (int[] list : layer) {
                    assertEquals(keep, list.length);
                    for (int i = 1; i < list.length; i++) {
                        assertTrue(list[i] > list[i - 1]);
                    }
                    assertTrue(list[0] >= 0 && list[list.length - 1] < store.entries());
                }
            }
        }
    }

    @Test
    void aSelectionOverAllEntriesKeepsThemAll() {
        for (CompressionMethod method : CompressionMethod.values()) {
            var compressor = KvCompressor.create(method, 1, 1, 1, 5);
            for (int q = 0; q < 5; q++) {
                compressor.observe(0, 0, q, AttentionRows.uniform(q + 1), q + 1);
            }
            assertArrayEquals(new int[] {0, 1, 2, 3, 4}, compressor.select(5, 5)[0][0], method.name());
            assertEquals(method, compressor.method());
        }
    }

    @Test
    void badShapesAreRejected() {
        assertThrows(NullPointerException.class, () -> KvCompressor.create(null, 1, 1, 1, 1));
        assertMessage("layers, heads and kvHeads must be positive and kvHeads must divide heads: layers=2, heads=6,"
                + " kvHeads=4", () -> KvCompressor.create(CompressionMethod.H2O, 2, 6, 4, 10));
        assertMessage("layers, heads and kvHeads must be positive and kvHeads must divide heads: layers=0, heads=4,"
                + " kvHeads=2", () -> KvCompressor.create(CompressionMethod.STREAMING, 0, 4, 2, 10));
        assertMessage("promptTokens must be positive: 0",
                () -> KvCompressor.create(CompressionMethod.SNAPKV, 1, 4, 2, 0));
    }

    @Test
    void badObservationsAreRejected() {
        var compressor = KvCompressor.create(CompressionMethod.H2O, 2, 4, 2, 10);
        float[] row = AttentionRows.uniform(4);
        assertMessage("no layer 2, head 0 in 2 layers of 4 heads", () -> compressor.observe(2, 0, 3, row, 4));
        assertMessage("no layer 0, head 4 in 2 layers of 4 heads", () -> compressor.observe(0, 4, 3, row, 4));
        assertMessage("no layer 0, head -1 in 2 layers of 4 heads", () -> compressor.observe(0, -1, 3, row, 4));
        assertMessage("the query at entry 3 attends to 4 entries, not 3", () -> compressor.observe(0, 0, 3, row, 3));
        assertMessage("5 entries but 4 probabilities", () -> compressor.observe(0, 0, 4, row, 5));
    }

    @Test
    void badSelectionsAreRejected() {
        var compressor = KvCompressor.create(CompressionMethod.H2O, 1, 2, 1, 10);
        compressor.observe(0, 1, 9, AttentionRows.uniform(10), 10);
        assertMessage("cannot keep 0 of 10 entries: keep must be in [1, entries]", () -> compressor.select(10, 0));
        assertMessage("cannot keep 11 of 10 entries: keep must be in [1, entries]", () -> compressor.select(10, 11));
        assertMessage("layer 0, KV head 0 has seen attention over 10 entries, more than the 9 given",
                () -> compressor.select(9, 5));
    }

    @Test
    void badCompactionsAreRejected_andChangeNothing() {
        var compressor = KvCompressor.create(CompressionMethod.H2O, 1, 2, 2, 10);
        var random = new SplittableRandom(5);
        for (int q = 0; q < 10; q++) {
            for (int h = 0; h < 2; h++) {
                compressor.observe(0, h, q, AttentionRows.random(random, q + 1), q + 1);
            }
        }
        int[][][] before = compressor.select(10, 4);
        assertThrows(NullPointerException.class, () -> compressor.compacted(null, 10));
        assertMessage("kept lists 2 layers, not 1", () -> compressor.compacted(new int[2][2][4], 10));
        assertMessage("kept[0] must list 2 KV heads", () -> compressor.compacted(new int[1][1][4], 10));
        assertMessage("kept[0][1] is null", () -> compressor.compacted(new int[][][] {{{1, 2}, null}}, 10));
        assertMessage("every head must keep the same number of entries: kept[0][1] keeps 3, kept[0][0] 2",
                () -> compressor.compacted(new int[][][] {{{1, 2}, {1, 2, 3}}}, 10));
        assertMessage("kept[0][1] must be strictly ascending within [0, 10); at 1 it holds 1",
                () -> compressor.compacted(new int[][][] {{{1, 2}, {1, 1}}}, 10));
        assertMessage("kept[0][0] must be strictly ascending within [0, 10); at 1 it holds 10",
                () -> compressor.compacted(new int[][][] {{{1, 10}, {1, 2}}}, 10));
        assertMessage("layer 0, KV head 0 has seen attention over 10 entries, more than the 8 given",
                () -> compressor.compacted(new int[][][] {{{1, 2}, {1, 2}}}, 8));
        assertEquals(deep(before), deep(compressor.select(10, 4)), "rejected compactions changed nothing");
    }

    private static String deep(int[][][] kept) {
        return Arrays.deepToString(kept);
    }

    private static void assertMessage(String message, Executable call) {
        assertEquals(message, assertThrows(IllegalArgumentException.class, call).getMessage());
    }
}
