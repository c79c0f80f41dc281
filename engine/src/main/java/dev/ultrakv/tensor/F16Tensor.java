package dev.ultrakv.tensor;

import java.lang.foreign.MemorySegment;

/** IEEE binary16 elements, two little-endian bytes each. */
final class F16Tensor extends SegmentTensor {

    F16Tensor(MemorySegment segment, long size) {
        super(segment, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.F16;
    }

    @Override
    public float getFloat(long index) {
        checkIndex(index);
        return Float.float16ToFloat(segment.get(WeightKernels.I16_LE, index * Short.BYTES));
    }

    @Override
    public float dot(long offset, float[] x, int xOffset, int n) {
        checkRange(offset, x, xOffset, n);
        return WeightKernels.dotF16(segment, offset * Short.BYTES, x, xOffset, n);
    }

    @Override
    public void copyTo(long offset, float[] dst, int dstOffset, int n) {
        checkRange(offset, dst, dstOffset, n);
        WeightKernels.copyF16(segment, offset * Short.BYTES, dst, dstOffset, n);
    }
}
