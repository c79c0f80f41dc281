package dev.ultrakv.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Q8_0 blocks of 32 elements: a little-endian float16 scale {@code d}, then 32 signed bytes {@code q};
 * element {@code j} is {@code q[j] * d}.
 */
final class Q8_0Tensor extends SegmentTensor {

    Q8_0Tensor(MemorySegment segment, long size) {
        super(segment, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
    }

    @Override
    public float getFloat(long index) {
        checkIndex(index);
        long block = index / Kernels.QK * GgmlType.Q8_0.blockBytes();
        float scale = Float.float16ToFloat(segment.get(Kernels.I16_LE, block));
        byte q = segment.get(Kernels.I8, block + Short.BYTES + index % Kernels.QK);
        return q * scale;
    }

    @Override
    public float dot(long offset, float[] x, int xOffset, int n) {
        checkBlockRange(offset, x, xOffset, n);
        return Kernels.dotQ8_0(segment, offset / Kernels.QK, x, xOffset, n / Kernels.QK);
    }

    @Override
    public void copyTo(long offset, float[] dst, int dstOffset, int n) {
        checkBlockRange(offset, dst, dstOffset, n);
        Kernels.copyQ8_0(segment, offset / Kernels.QK, dst, dstOffset, n / Kernels.QK);
    }
}
