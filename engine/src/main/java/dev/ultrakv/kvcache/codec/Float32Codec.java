package dev.ultrakv.kvcache.codec;

import dev.ultrakv.tensor.Attention;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * Keys and values as the model computes them: {@code headSize} little-endian float32 values per slot, 4 bytes
 * each. Lossless, and its attention is the float kernels' own.
 *
 * <h2>Notes</h2>
 * <b>Bit-identical to the dense cache.</b> {@link #attentionScores} and {@link #attentionValues} call
 * {@link Attention#attentionScores(float[], int, MemorySegment, long, int, int, int, float[], int)} and
 * {@link Attention#attentionValues(float[], int, MemorySegment, long, int, int, int, float[], int)} with the run's
 * offset in floats and a stride of {@code headSize} (a run's slots are contiguous), so a float32 paged cache
 * rounds exactly as before codecs existed. The run must therefore start at a multiple of 4 bytes, as every run of
 * the block pool does.
 */
final class Float32Codec implements KvCodec {
    static final Float32Codec INSTANCE = new Float32Codec();

    private Float32Codec() {
    }

    @Override
    public KvCodecKind kind() {
        return KvCodecKind.F32;
    }

    @Override
    public long slotBytes(int headSize) {
        checkHeadSize(headSize);
        return (long) headSize * Float.BYTES;
    }

    @Override
    public void encode(float[] src, int srcOffset, int headSize, MemorySegment dst, long dstByteOffset) {
        checkHeadSize(headSize);
        Objects.checkFromIndexSize(srcOffset, headSize, src.length);
        SlotValues.checkFinite(KvCodecKind.F32, src, srcOffset, headSize);
        MemorySegment.copy(src, srcOffset, dst, CodecVectors.F32_LE, dstByteOffset, headSize);
    }

    @Override
    public void decode(MemorySegment src, long srcByteOffset, int headSize, float[] dst, int dstOffset) {
        checkHeadSize(headSize);
        MemorySegment.copy(src, CodecVectors.F32_LE, srcByteOffset, dst, dstOffset, headSize);
    }

    @Override
    public void attentionScores(float[] q, int qOffset, int headSize, MemorySegment keys, long runByteOffset,
                                int count, float[] scores, int scoresOffset) {
        checkHeadSize(headSize);
        Attention.attentionScores(q, qOffset, keys, floatOffset(runByteOffset), headSize, headSize, count, scores,
                scoresOffset);
    }

    @Override
    public void attentionValues(float[] weights, int weightsOffset, MemorySegment values, long runByteOffset,
                                int count, int headSize, float[] out, int outOffset) {
        checkHeadSize(headSize);
        Attention.attentionValues(weights, weightsOffset, values, floatOffset(runByteOffset), headSize, headSize,
                count, out, outOffset);
    }

    /** The run's offset in floats, as the float kernels address off-heap memory. */
    private static long floatOffset(long runByteOffset) {
        if (runByteOffset % Float.BYTES != 0) {
            throw new IllegalArgumentException("a float32 run must start at a multiple of " + Float.BYTES
                    + " bytes: " + runByteOffset);
        }
        return runByteOffset / Float.BYTES;
    }

    private static void checkHeadSize(int headSize) {
        if (headSize <= 0) {
            throw new IllegalArgumentException("F32 needs a positive headSize: " + headSize);
        }
    }

    @Override
    public String toString() {
        return "Float32Codec";
    }
}
