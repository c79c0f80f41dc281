package dev.ultrakv.kvcache;

import java.util.Arrays;

/**
 * The float32 keys and values of a sequence's newest entries, kept beside their encoded copies in the blocks so
 * that attention reads each query's own block at full precision (KIVI's full-precision window of recent tokens):
 * a lossy codec then only touches blocks that are complete before the query's block begins.
 *
 * <p>Entries are written in order. Per layer the window holds entries {@code [base, end)}, {@code base} at a block
 * start: within one forward pass, every entry written for a layer (a prefill chunk may span many blocks) stays
 * until attention of that layer has read it; the first write of the next pass drops whole blocks before the
 * block of the entry it writes, leaving at most the incomplete block. So what a query reads does not depend on
 * how a prompt was cut into passes, nor on whether its earlier blocks came from the prefix cache.
 *
 * <p>Not thread-safe for writes; {@link #markRead} may be called from attention's worker threads.
 */
final class FullPrecisionWindow {
    private final int kvDim;
    private final int blockSize;
    /** (layer, entry − base[layer], kvDim): keys as computed, RoPE applied. */
    private final float[][] keys;
    /** (layer, entry − base[layer], kvDim): values as computed. */
    private final float[][] values;
    /** (layer): first entry held, a multiple of the block size. */
    private final int[] base;
    /** (layer): one past the last entry written. */
    private final int[] end;
    /** (layer): attention has read the layer since its last write, so the next write starts a new pass. */
    private final boolean[] read;

    FullPrecisionWindow(int layers, int kvDim, int blockSize) {
        this.kvDim = kvDim;
        this.blockSize = blockSize;
        this.keys = new float[layers][kvDim * blockSize];
        this.values = new float[layers][kvDim * blockSize];
        this.base = new int[layers];
        this.end = new int[layers];
        this.read = new boolean[layers];
        Arrays.fill(read, true);
    }

    /**
     * Keeps the float32 key and value of {@code entry} for {@code layer}.
     *
     * @throws IllegalStateException if {@code entry} is not the next one, unless a pass starts at a block start
     *                               (a sequence continuing cached blocks)
     */
    void write(int layer, int entry, float[] key, int keyOffset, float[] value, int valueOffset) {
        if (read[layer]) {
            startPass(layer, entry);
        }
        if (entry != end[layer]) {
            throw new IllegalStateException("entry " + entry + " of layer " + layer + " written out of order; the "
                    + "window expects entry " + end[layer]);
        }
        int at = (entry - base[layer]) * kvDim;
        if (at + kvDim > keys[layer].length) {
            int grown = Math.max(at + kvDim, 2 * keys[layer].length);
            keys[layer] = Arrays.copyOf(keys[layer], grown);
            values[layer] = Arrays.copyOf(values[layer], grown);
        }
        System.arraycopy(key, keyOffset, keys[layer], at, kvDim);
        System.arraycopy(value, valueOffset, values[layer], at, kvDim);
        end[layer] = entry + 1;
    }

    /** Drops the blocks before {@code entry}'s block; shrinks a buffer a long prefill chunk grew. */
    private void startPass(int layer, int entry) {
        read[layer] = false;
        int newBase = entry & -blockSize;
        if (newBase <= base[layer]) {
            return;
        }
        int kept = Math.max(0, end[layer] - newBase);
        if (entry > end[layer]) {
            // A restart at a block start with nothing of the block written: e.g. the first entry after cached blocks.
            if (entry != newBase) {
                throw new IllegalStateException("entry " + entry + " of layer " + layer + " skips entries "
                        + end[layer] + ".." + (entry - 1));
            }
            end[layer] = newBase;
            kept = 0;
        }
        int capacity = Math.max(kvDim * blockSize, keys[layer].length > 2 * kvDim * blockSize
                ? kvDim * blockSize : keys[layer].length);
        float[] k = capacity == keys[layer].length ? keys[layer] : new float[capacity];
        float[] v = capacity == values[layer].length ? values[layer] : new float[capacity];
        if (kept > 0) {
            System.arraycopy(keys[layer], (newBase - base[layer]) * kvDim, k, 0, kept * kvDim);
            System.arraycopy(values[layer], (newBase - base[layer]) * kvDim, v, 0, kept * kvDim);
        }
        keys[layer] = k;
        values[layer] = v;
        base[layer] = newBase;
    }

    /**
     * Forgets the entries from {@code entry} on, in every layer, so that a forward pass that failed can be run
     * again from there: that pass began at or after {@code entry}, so its block is still held.
     *
     * @throws IllegalStateException if a layer no longer holds {@code entry}'s block
     */
    void rewind(int entry) {
        for (int layer = 0; layer < end.length; layer++) {
            if (end[layer] > entry) {
                if (entry < base[layer]) {
                    throw new IllegalStateException("cannot rewind layer " + layer + " to entry " + entry
                            + ": the window holds entries from " + base[layer]);
                }
                end[layer] = entry;
            }
            read[layer] = true;
        }
    }

    /** Notes that attention read {@code layer}: its next write begins another pass. */
    void markRead(int layer) {
        read[layer] = true;
    }

    /** The keys of {@code layer}: entry {@code e}'s KV head {@code h} at {@code offset(layer, e) + h × headSize}. */
    float[] keys(int layer) {
        return keys[layer];
    }

    /** The values of {@code layer}, laid out as {@link #keys}. */
    float[] values(int layer) {
        return values[layer];
    }

    /**
     * Index in {@link #keys}/{@link #values} of {@code entry} of {@code layer}.
     *
     * @throws IllegalStateException if the entry is not held
     */
    int offset(int layer, int entry) {
        if (entry < base[layer] || entry >= end[layer]) {
            throw new IllegalStateException("entry " + entry + " of layer " + layer + " is not in the window ["
                    + base[layer] + ", " + end[layer] + ")");
        }
        return (entry - base[layer]) * kvDim;
    }

    /** Forgets everything: the next write may start anywhere at a block start (after a compaction). */
    void reset(int entry) {
        Arrays.fill(base, entry);
        Arrays.fill(end, entry);
        Arrays.fill(read, true);
    }

    /** Heap bytes of the buffers: the window's cost in the cache's byte accounting. */
    long bytes() {
        long floats = 0;
        for (int l = 0; l < keys.length; l++) {
            floats += keys[l].length + values[l].length;
        }
        return floats * Float.BYTES;
    }

    /** Bytes of a window of one block for a layout: what every sequence of a lossy cache holds between passes. */
    static long steadyBytes(KvLayout layout, int blockSize) {
        return 2L * layout.layers() * layout.kvDim() * blockSize * Float.BYTES;
    }
}
