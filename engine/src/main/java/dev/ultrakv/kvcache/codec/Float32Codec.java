package dev.ultrakv.kvcache.codec;

import dev.ultrakv.tensor.Kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/** float32 slots (placeholder until the codec implementations land). */
final class Float32Codec implements KvCodec {
    static final Float32Codec INSTANCE = new Float32Codec();
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Override
    public KvCodecKind kind() {
        return KvCodecKind.F32;
    }

    @Override
    public long slotBytes(int headSize) {
        return (long) headSize * Float.BYTES;
    }

    @Override
    public void encode(float[] src, int srcOffset, int headSize, MemorySegment dst, long dstByteOffset) {
        MemorySegment.copy(src, srcOffset, dst, F32_LE, dstByteOffset, headSize);
    }

    @Override
    public void decode(MemorySegment src, long srcByteOffset, int headSize, float[] dst, int dstOffset) {
        MemorySegment.copy(src, F32_LE, srcByteOffset, dst, dstOffset, headSize);
    }

    @Override
    public void attentionScores(float[] q, int qOffset, int headSize, MemorySegment keys, long runByteOffset,
                                int count, float[] scores, int scoresOffset) {
        Kernels.attentionScores(q, qOffset, keys, runByteOffset / Float.BYTES, headSize, headSize, count, scores,
                scoresOffset);
    }

    @Override
    public void attentionValues(float[] weights, int weightsOffset, MemorySegment values, long runByteOffset,
                                int count, int headSize, float[] out, int outOffset) {
        Kernels.attentionValues(weights, weightsOffset, values, runByteOffset / Float.BYTES, headSize, headSize,
                count, out, outOffset);
    }
}
