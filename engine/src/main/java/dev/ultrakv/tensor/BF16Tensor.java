package dev.ultrakv.tensor;

import java.lang.foreign.MemorySegment;

/** bfloat16 elements (the upper 16 bits of a float32), two little-endian bytes each. */
final class BF16Tensor extends SegmentTensor {

    BF16Tensor(MemorySegment segment, long size) {
        super(segment, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.BF16;
    }

    @Override
    public float getFloat(long index) {
        checkIndex(index);
        return Float.intBitsToFloat(segment.get(WeightKernels.I16_LE, index * Short.BYTES) << 16);
    }

    @Override
    public float dot(long offset, float[] x, int xOffset, int n) {
        checkRange(offset, x, xOffset, n);
        return WeightKernels.dotBF16(segment, offset * Short.BYTES, x, xOffset, n);
    }

    @Override
    public void copyTo(long offset, float[] dst, int dstOffset, int n) {
        checkRange(offset, dst, dstOffset, n);
        WeightKernels.copyBF16(segment, offset * Short.BYTES, dst, dstOffset, n);
    }
}
