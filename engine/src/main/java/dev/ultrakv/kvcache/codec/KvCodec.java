package dev.ultrakv.kvcache.codec;

import java.lang.foreign.MemorySegment;

/**
 * Encodes the key or value of one KV head at one position (a <em>slot</em> of {@code headSize} floats) into a
 * fixed number of bytes, decodes it, and computes attention directly over runs of encoded slots, dequantizing
 * in registers rather than inflating a float copy.
 *
 * <p>A run is {@code count} consecutive slots, slot {@code t} at {@code runByteOffset + t × slotBytes(headSize)}:
 * the layout of one (block, layer, K or V, KV head) in the block pool. Slots are independent of each other
 * (scales are per slot), so a slot can be written as soon as its position is computed and copied byte for byte.
 *
 * <p>Implementations are stateless and thread-safe. The float32 codec computes exactly what
 * {@link dev.ultrakv.tensor.Kernels#attentionScores(float[], int, MemorySegment, long, int, int, int, float[], int)}
 * and its value twin compute, so an unquantized paged cache stays bit-identical to the dense one.
 */
public interface KvCodec {

    /** Which codec this is. */
    KvCodecKind kind();

    /** Whether decoding returns exactly the floats encoded (float32 only). */
    default boolean isLossless() {
        return kind() == KvCodecKind.F32;
    }

    /**
     * Bytes of one slot: the codes of {@code headSize} values plus their scales.
     *
     * @throws IllegalArgumentException if the codec cannot store heads of this size (e.g. not a multiple of
     *                                  its packing)
     */
    long slotBytes(int headSize);

    /**
     * Encodes {@code src[srcOffset, srcOffset + headSize)} into the slot at {@code dstByteOffset}.
     *
     * @throws IllegalArgumentException if a value is NaN or infinite, or too large for the codec's scales; the
     *                                  message names the value and its index within the slot
     */
    void encode(float[] src, int srcOffset, int headSize, MemorySegment dst, long dstByteOffset);

    /** Decodes the slot at {@code srcByteOffset} into {@code dst[dstOffset, dstOffset + headSize)}. */
    void decode(MemorySegment src, long srcByteOffset, int headSize, float[] dst, int dstOffset);

    /**
     * Scaled attention scores of one query head against {@code count} encoded keys:
     * {@code scores[scoresOffset + t] = q·k_t / sqrt(headSize)}.
     */
    void attentionScores(float[] q, int qOffset, int headSize, MemorySegment keys, long runByteOffset, int count,
                         float[] scores, int scoresOffset);

    /**
     * Adds weighted encoded values to {@code out}: {@code out[outOffset + i] += Σ_t weights[weightsOffset + t]·v_t[i]}
     * for {@code t < count}, in position order.
     */
    void attentionValues(float[] weights, int weightsOffset, MemorySegment values, long runByteOffset, int count,
                         int headSize, float[] out, int outOffset);
}
