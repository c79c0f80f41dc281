package dev.ultrakv.tensor;

import java.lang.foreign.MemorySegment;

/** Float32 elements, four little-endian bytes each. */
final class F32Tensor extends SegmentTensor {

    F32Tensor(MemorySegment segment, long size) {
        super(segment, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.F32;
    }

    @Override
    public float getFloat(long index) {
        checkIndex(index);
        return segment.get(WeightKernels.F32_LE, index * Float.BYTES);
    }

    @Override
    public float dot(long offset, float[] x, int xOffset, int n) {
        checkRange(offset, x, xOffset, n);
        return WeightKernels.dotF32(segment, offset * Float.BYTES, x, xOffset, n);
    }

    @Override
    public void copyTo(long offset, float[] dst, int dstOffset, int n) {
        checkRange(offset, dst, dstOffset, n);
        MemorySegment.copy(segment, WeightKernels.F32_LE, offset * Float.BYTES, dst, dstOffset, n);
    }
}
