package dev.ultrakv.kvcache.compress;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the store does with a {@link KvCompressor}, without K/V: it appends entries, reports one softmax row per
 * query head, and compacts when it holds a block more than {@code ratio × positions} entries, back down to that
 * share rounded up. It remembers the position behind every entry of every (layer, KV head), so tests can assert
 * on positions, and checks every selection it applies.
 */
final class CompressingStoreModel {
    /** Entries of slack before a compaction: one block, as the store. */
    static final int BLOCK = 16;

    /** The softmax row of one query head: {@code length} probabilities over the head's entries. */
    interface Rows {
        float[] row(CompressingStoreModel store, int layer, int head, int length);
    }

    final KvCompressor compressor;
    final int layers;
    final int heads;
    final int kvHeads;
    private final double ratio;
    private int[][][] positionOf;
    private int entries;
    private int positions;
    private int compactions;

    CompressingStoreModel(CompressionMethod method, int layers, int heads, int kvHeads, int promptTokens,
                          double ratio) {
        this.compressor = KvCompressor.create(method, layers, heads, kvHeads, promptTokens);
        this.layers = layers;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.ratio = ratio;
        this.positionOf = new int[layers][kvHeads][0];
    }

    /** Writes one position's entry and reports the attention of each query head of each layer for it. */
    void append(Rows rows) {
        for (int l = 0; l < layers; l++) {
            for (int g = 0; g < kvHeads; g++) {
                positionOf[l][g] = Arrays.copyOf(positionOf[l][g], entries + 1);
                positionOf[l][g][entries] = positions;
            }
        }
        entries++;
        positions++;
        for (int l = 0; l < layers; l++) {
            for (int h = 0; h < heads; h++) {
                float[] row = rows.row(this, l, h, entries);
                if (compressor.observesAttention()) {
                    compressor.observe(l, h, entries - 1, row, entries);
                }
            }
        }
    }

    /** Appends {@code count} positions. */
    void append(int count, Rows rows) {
        for (int i = 0; i < count; i++) {
            append(rows);
        }
    }

    /** Compacts if a block more than the share is held; returns whether it did. */
    boolean compactIfDue() {
        int keep = keep();
        if (entries <= keep + BLOCK) {
            return false;
        }
        int[][][] kept = compressor.select(entries, keep);
        for (int l = 0; l < layers; l++) {
            for (int g = 0; g < kvHeads; g++) {
                int[] list = kept[l][g];
                assertEquals(keep, list.length, "entries kept by layer " + l + ", KV head " + g);
                for (int i = 0; i < list.length; i++) {
                    assertTrue(list[i] >= 0 && list[i] < entries, "kept entry in range");
                    assertTrue(i == 0 || list[i] > list[i - 1], "kept entries strictly ascending");
                }
                int[] old = positionOf[l][g];
                positionOf[l][g] = Arrays.stream(list).map(e -> old[e]).toArray();
            }
        }
        compressor.compacted(kept, entries);
        entries = keep;
        compactions++;
        return true;
    }

    /** The share of positions kept, rounded up. */
    int keep() {
        return (int) Math.ceil(ratio * positions);
    }

    int entries() {
        return entries;
    }

    int positions() {
        return positions;
    }

    int compactions() {
        return compactions;
    }

    /** The query head's KV head. */
    int kvHeadOf(int head) {
        return head / (heads / kvHeads);
    }

    /** Positions held by one (layer, KV head), in entry order. */
    int[] positions(int layer, int kvHead) {
        return positionOf[layer][kvHead].clone();
    }

    /** The entry of {@code position} in (layer, KV head), or -1 if it was dropped. */
    int entryOf(int layer, int kvHead, int position) {
        int entry = Arrays.binarySearch(positionOf[layer][kvHead], 0, entries, position);
        return entry >= 0 ? entry : -1;
    }
}
