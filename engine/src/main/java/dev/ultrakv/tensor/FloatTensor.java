package dev.ultrakv.tensor;

import java.lang.foreign.MemorySegment;

/**
 * A read-only tensor of {@link #size()} elements stored in its own type over a {@link MemorySegment}
 * (usually a memory-mapped model file), read as floats.
 *
 * <p>A weight matrix of shape {@code [rows, cols]} is stored row-major: element {@code (r, c)} is at index
 * {@code r * cols + c}. Quantized types require row starts and lengths to be whole blocks.
 * Implementations are immutable and safe to share between threads.
 */
public abstract class FloatTensor {

    /** The storage type of the elements. */
    public abstract GgmlType type();

    /** Number of elements. */
    public abstract long size();

    /** The bytes backing the tensor. */
    public abstract MemorySegment segment();

    /** Element {@code index} as a float (slow; for tests and odd accesses). */
    public abstract float getFloat(long index);

    /**
     * Dot product of elements {@code [offset, offset + n)} of this tensor with {@code x[xOffset, xOffset + n)}.
     * Uses the Vector API.
     */
    public abstract float dot(long offset, float[] x, int xOffset, int n);

    /** Copies elements {@code [offset, offset + n)} as floats into {@code dst[dstOffset, dstOffset + n)}. */
    public abstract void copyTo(long offset, float[] dst, int dstOffset, int n);
}
