package dev.ultrakv.kvcache;

import dev.ultrakv.tensor.Attention;

import java.util.Arrays;

/**
 * Keys and values of one sequence in plain float arrays, one (position, kvDim) array per layer and kind. The
 * simplest {@link KvStore}: the reference that paged and quantized stores are checked against.
 *
 * <p>The arrays grow as positions are written, up to the capacity: memory follows the tokens actually written,
 * not the capacity, so a request for two billion tokens against a context of a billion holds only what it has
 * generated. Growth copies the arrays and never changes the arithmetic.
 *
 * <p>Not thread-safe for writes; {@link #attend} may run concurrently once its positions are written.
 */
public final class DenseKvStore implements KvStore {
    /** Positions held at first when the capacity is larger: growth from here by doubling costs a few copies. */
    private static final int INITIAL_POSITIONS = 256;
    /** The longest array the JVM reliably allocates (a few header words below Integer.MAX_VALUE). */
    private static final long MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;

    private final KvLayout layout;
    private final int capacity;
    /** (layer) of (position, kvDim), {@link #allocated} positions each. */
    private final float[][] keys;
    /** (layer) of (position, kvDim), {@link #allocated} positions each. */
    private final float[][] values;
    private int allocated;

    /**
     * @param capacity positions the store may hold, at least 1; memory is taken as they are written
     */
    public DenseKvStore(KvLayout layout, int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity must be positive: " + capacity);
        }
        this.layout = layout;
        this.capacity = capacity;
        this.keys = new float[layout.layers()][];
        this.values = new float[layout.layers()][];
        resize(Math.min(INITIAL_POSITIONS, maxPositions()));
    }

    @Override
    public KvLayout layout() {
        return layout;
    }

    @Override
    public int capacity() {
        return capacity;
    }

    /** Positions the arrays hold now (tests: memory follows use). */
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
    public void attend(int layer, int head, int position, int window, float softCap, float[] query,
                       int queryOffset, float[] out, int outOffset, float[] scratch) {
        if (window < 1) {
            throw new IllegalArgumentException("attention window " + window + " must be at least 1");
        }
        int headSize = layout.headSize();
        int kvDim = layout.kvDim();
        int first = Math.max(0, position - window + 1);
        int headOffset = (head / layout.queriesPerKvHead()) * headSize;
        Attention.attention(query, queryOffset, keys[layer], values[layer], first * kvDim + headOffset, kvDim,
                headSize, position + 1 - first, softCap, scratch, out, outOffset);
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
