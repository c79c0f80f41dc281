package dev.ultrakv.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/** The state and argument checks shared by the tensors over a {@link MemorySegment}. */
abstract sealed class SegmentTensor extends FloatTensor
        permits F32Tensor, F16Tensor, BF16Tensor, BlockTensor {

    final MemorySegment segment;
    private final long size;

    /** {@code segment} must already hold exactly {@code size} elements of {@link #type()}. */
    SegmentTensor(MemorySegment segment, long size) {
        this.segment = segment;
        this.size = size;
    }

    @Override
    public final long size() {
        return size;
    }

    @Override
    public final MemorySegment segment() {
        return segment;
    }

    @Override
    public String toString() {
        return type() + "[" + size + "]";
    }

    /** Checks that {@code index} is an element of this tensor. */
    final void checkIndex(long index) {
        Objects.checkIndex(index, size);
    }

    /** Checks that elements {@code [offset, offset + n)} exist and {@code array[arrayOffset, + n)} fits. */
    final void checkRange(long offset, float[] array, int arrayOffset, int n) {
        Objects.checkFromIndexSize(offset, n, size);
        Objects.checkFromIndexSize(arrayOffset, n, array.length);
    }

    /** Like {@link #checkRange}, and the range is whole blocks of a quantized type. */
    final void checkBlockRange(long offset, float[] array, int arrayOffset, int n) {
        checkRange(offset, array, arrayOffset, n);
        int block = type().blockSize();
        if (offset % block != 0 || n % block != 0) {
            throw new IllegalArgumentException(type() + " reads whole blocks of " + block + " elements; got offset "
                    + offset + " and length " + n);
        }
    }
}
