package dev.ultrakv.kvcache;

import dev.ultrakv.tensor.Kernels;

/**
 * Keys and values of one sequence in plain float arrays, one (position, kvDim) array per layer and kind. The
 * simplest {@link KvStore}: the reference that paged and quantized stores are checked against.
 */
public final class DenseKvStore implements KvStore {
    private final KvLayout layout;
    private final int capacity;
    /** (layer) of (position, kvDim). */
    private final float[][] keys;
    /** (layer) of (position, kvDim). */
    private final float[][] values;

    /**
     * @param capacity positions to hold
     */
    public DenseKvStore(KvLayout layout, int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity must be positive: " + capacity);
        }
        this.layout = layout;
        this.capacity = capacity;
        int size = Math.multiplyExact(capacity, layout.kvDim());
        keys = new float[layout.layers()][size];
        values = new float[layout.layers()][size];
    }

    @Override
    public KvLayout layout() {
        return layout;
    }

    @Override
    public int capacity() {
        return capacity;
    }

    @Override
    public void write(int layer, int position, float[] key, int keyOffset, float[] value, int valueOffset) {
        if (position < 0 || position >= capacity) {
            throw new IndexOutOfBoundsException("position " + position + " outside [0, " + capacity + ")");
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
}
