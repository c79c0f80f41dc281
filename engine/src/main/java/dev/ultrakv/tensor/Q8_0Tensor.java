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
        long block = index / WeightKernels.QK * GgmlType.Q8_0.blockBytes();
        float scale = Float.float16ToFloat(segment.get(WeightKernels.I16_LE, block));
        byte q = segment.get(WeightKernels.I8, block + Short.BYTES + index % WeightKernels.QK);
        return q * scale;
    }

    @Override
    public float dot(long offset, float[] x, int xOffset, int n) {
        checkBlockRange(offset, x, xOffset, n);
        return WeightKernels.dotQ8_0(segment, offset / WeightKernels.QK, x, xOffset, n / WeightKernels.QK);
    }

    @Override
    public void copyTo(long offset, float[] dst, int dstOffset, int n) {
        checkBlockRange(offset, dst, dstOffset, n);
        WeightKernels.copyQ8_0(segment, offset / WeightKernels.QK, dst, dstOffset, dstOffset + WeightKernels.L,
                2 * WeightKernels.L, n / WeightKernels.QK);
    }

    @Override
    void copyToTwoChains(long offset, float[] dst, int dstOffset, int n) {
        checkBlockRange(offset, dst, dstOffset, n);
        WeightKernels.copyQ8_0(segment, offset / WeightKernels.QK, dst, dstOffset, dstOffset + n / 2, WeightKernels.L,
                n / WeightKernels.QK);
    }
}
