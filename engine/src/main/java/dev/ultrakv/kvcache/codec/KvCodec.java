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
 * <p>Implementations are thread-safe and hold no state beyond caches of derived constants; get them from
 * {@link KvCodecs#of}. The float32 codec computes exactly what
 * {@link dev.ultrakv.tensor.Attention#attentionScores(float[], int, MemorySegment, long, int, int, int, float[], int)}
 * and its value twin compute, so an unquantized paged cache stays bit-identical to the dense one; the float16
 * codec computes exactly what they compute over the decoded values.
 *
 * <p><b>Determinism.</b> Every codec adds in an order that depends only on {@code headSize}, {@code count} and
 * the CPU's vector length: never on the run's address, the thread or whether the JIT has compiled the kernel. A
 * slot's score is the same whatever run it is read in. The integer codecs dequantize in registers and group their
 * arithmetic differently from a decode-then-float computation (scales applied per group, minima once), so they
 * agree with it to a few ulps of the magnitudes involved, not bit for bit.
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
     * Adds weighted encoded values to {@code out}:
     * {@code out[outOffset + i] += Σ_t weights[weightsOffset + t]·v_t[i]} for {@code t < count}, in position order. The asymmetric integer codecs add the minima's share
     * {@code Σ_t w_t·m_t} once after the codes' share (it is the same for every channel of a group).
     */
    void attentionValues(float[] weights, int weightsOffset, MemorySegment values, long runByteOffset, int count,
                         int headSize, float[] out, int outOffset);
}
