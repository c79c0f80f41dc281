package dev.ultrakv.kvcache;

/**
 * The keys and values of one sequence, as the forward pass sees them: it writes a position's K/V for a layer
 * and asks for attention over the positions before it.
 *
 * <p>The store decides how K/V are laid out and encoded (dense arrays, paged blocks, quantized codecs), so
 * attention is computed by the store, which reads its own layout directly. Positions of one sequence are
 * written in order; attention for the token at position {@code p} reads positions {@code [0, p]}.
 *
 * <p>Not thread-safe for writes; {@link #attend} may run concurrently for different heads or rows once the
 * positions it reads have been written.
 */
public interface KvStore {

    /** The shape of the keys and values held. */
    KvLayout layout();

    /** Positions this store can hold; writing at or beyond it fails. */
    int capacity();

    /**
     * Stores the key and value of {@code position} for {@code layer}.
     *
     * @param key   {@code layout().kvDim()} floats from {@code keyOffset}, RoPE already applied
     * @param value {@code layout().kvDim()} floats from {@code valueOffset}
     */
    void write(int layer, int position, float[] key, int keyOffset, float[] value, int valueOffset);

    /**
     * Attention of one query head of the token at {@code position} over the keys and values of {@code layer}
     * visible to it (positions {@code [0, position]}, already written): softmax of the scaled dot products of
     * {@code query} with the keys of the head's KV head, then the weighted sum of its values.
     *
     * @param head    the query head; its KV head is {@code head / layout().queriesPerKvHead()}
     * @param query   {@code headSize} floats from {@code queryOffset}
     * @param out     receives {@code headSize} floats at {@code outOffset}
     * @param scratch at least {@code position + 1} floats, overwritten
     */
    default void attend(int layer, int head, int position, float[] query, int queryOffset, float[] out,
                        int outOffset, float[] scratch) {
        attend(layer, head, position, Integer.MAX_VALUE, query, queryOffset, out, outOffset, scratch);
    }

    /**
     * {@link #attend(int, int, int, float[], int, float[], int, float[]) Attention} over the last {@code window}
     * entries only, the query's own included: with every position kept, positions
     * {@code [max(0, position - window + 1), position]} (llama.cpp's sliding-window mask hides a key when
     * {@code position - keyPosition >= window}). A store that dropped entries counts the window in the entries it
     * holds. {@code Integer.MAX_VALUE} means no window.
     *
     * @param window at least 1
     */
    default void attend(int layer, int head, int position, int window, float[] query, int queryOffset, float[] out,
                        int outOffset, float[] scratch) {
        attend(layer, head, position, window, NO_SOFT_CAP, query, queryOffset, out, outOffset, scratch);
    }

    /**
     * {@link #attend(int, int, int, int, float[], int, float[], int, float[]) Windowed attention} whose scaled
     * scores {@code s} become {@code softCap·tanh(s / softCap)} before the softmax (Gemma 2), as
     * {@link dev.ultrakv.tensor.VectorOps#softCap} computes it.
     *
     * @param softCap positive, or {@link #NO_SOFT_CAP}
     */
    void attend(int layer, int head, int position, int window, float softCap, float[] query, int queryOffset,
                float[] out, int outOffset, float[] scratch);

    /** The {@code softCap} of attention whose scores are not capped. */
    float NO_SOFT_CAP = 0f;
}
