package dev.ultrakv.model;

import dev.ultrakv.kvcache.KvLayout;
import dev.ultrakv.kvcache.KvStore;
import dev.ultrakv.tensor.Kernels;

import java.util.Arrays;

/**
 * Keys and values of one sequence in plain float arrays, one (position, kvDim) array per layer and kind, that
 * grow as positions are written, up to a capacity. Memory follows the tokens actually generated, not the
 * capacity: a request for two billion tokens against a context of a billion holds only what it has written.
 * The arithmetic is the dense store's, so results are identical.
 *
 * <p>Not thread-safe for writes; {@link #attend} may run concurrently once its positions are written.
 */
final class GrowingKvStore implements KvStore {
    /** Positions held at first when the capacity is larger: growth from here costs a few copies at most. */
    private static final int INITIAL_POSITIONS = 256;
    /** The longest array the JVM reliably allocates. */
    private static final long MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;

    private final KvLayout layout;
    private final int capacity;
    /** (layer) of (position, kvDim), {@code allocated} positions each. */
    private final float[][] keys;
    /** (layer) of (position, kvDim), {@code allocated} positions each. */
    private final float[][] values;
    private int allocated;

    /**
     * @param capacity  positions the store may hold, at least 1
     * @param firstSize positions to allocate now (clamped to {@code [1, capacity]}), e.g. the prompt's length
     */
    GrowingKvStore(KvLayout layout, int capacity, int firstSize) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity must be positive: " + capacity);
        }
        this.layout = layout;
        this.capacity = capacity;
        this.keys = new float[layout.layers()][];
        this.values = new float[layout.layers()][];
        resize(Math.clamp(Math.max(firstSize, INITIAL_POSITIONS), 1, maxPositions()));
    }

    @Override
    public KvLayout layout() {
        return layout;
    }

    @Override
    public int capacity() {
        return capacity;
    }

    /** Positions the arrays hold now (for tests: memory follows use). */
    int allocatedPositions() {
        return allocated;
    }

    @Override
    public void write(int layer, int position, float[] key, int keyOffset, float[] value, int valueOffset) {
        if (position < 0 || position >= capacity) {
            throw new IndexOutOfBoundsException("position " + position + " outside [0, " + capacity + ")");
        }
        if (position >= allocated) {
            resize((int) Math.max(position + 1L, Math.min(2L * allocated, maxPositions())));
        }
        int kvDim = layout.kvDim();
        System.arraycopy(key, keyOffset, keys[layer], position * kvDim, kvDim);
        System.arraycopy(value, valueOffset, values[layer], position * kvDim, kvDim);
    }

    @Override
    public void attend(int layer, int head, int position, float[] query, int queryOffset, float[] out,
                       int outOffset, float[] scratch) {
        int headSize = layout.headSize();
        int kvDim = layout.kvDim();
        int headOffset = (head / layout.queriesPerKvHead()) * headSize;
        Kernels.attention(query, queryOffset, keys[layer], values[layer], headOffset, kvDim, headSize,
                position + 1, scratch, out, outOffset);
    }

    /** The capacity, or less where a layer's array could not hold it; writing beyond fails in resize. */
    private int maxPositions() {
        return (int) Math.min(capacity, MAX_ARRAY_LENGTH / layout.kvDim());
    }

    private void resize(int positions) {
        long floats = (long) positions * layout.kvDim();
        if (floats > MAX_ARRAY_LENGTH) {
            throw new IllegalStateException("the KV store of one sequence cannot hold " + positions
                    + " positions of " + layout.kvDim() + " floats in a Java array (at most "
                    + MAX_ARRAY_LENGTH / layout.kvDim() + " positions)");
        }
        for (int l = 0; l < layout.layers(); l++) {
            keys[l] = keys[l] == null ? new float[(int) floats] : Arrays.copyOf(keys[l], (int) floats);
            values[l] = values[l] == null ? new float[(int) floats] : Arrays.copyOf(values[l], (int) floats);
        }
        allocated = positions;
    }
}
