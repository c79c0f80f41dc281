package dev.ultrakv.tensor;

import java.lang.foreign.MemorySegment;

/**
 * A tensor of a quantized type: blocks of {@link GgmlType#blockSize()} elements (32, or 256 for the K-quants'
 * super-blocks), read and dequantized a whole block at a time. Its dot products follow the two-chain canonical
 * order ({@link WeightKernels#dotTwoChains}); each type says how its blocks dequantize and multiply, and this class
 * checks the ranges and places the dequantized chunks.
 */
abstract sealed class BlockTensor extends SegmentTensor permits Q8_0Tensor, Q4_0Tensor, AffineBlockTensor {

    BlockTensor(MemorySegment segment, long size) {
        super(segment, size);
    }

    /** Σ W[i]·x[xOffset + i] over {@code blocks} blocks from block {@code firstBlock}, in the two-chain order. */
    abstract float dotBlocks(long firstBlock, float[] x, int xOffset, int blocks);

    /**
     * Dequantizes {@code blocks} blocks from block {@code firstBlock}; chunk {@code c} of {@link WeightKernels#L}
     * elements goes to {@code dst} at {@link WeightKernels#chunkStart chunkStart(c, evenBase, oddBase, step)}.
     */
    abstract void dequantize(long firstBlock, float[] dst, int evenBase, int oddBase, int step, int blocks);

    @Override
    public final float dot(long offset, float[] x, int xOffset, int n) {
        checkBlockRange(offset, x, xOffset, n);
        int block = type().blockSize();
        return dotBlocks(offset / block, x, xOffset, n / block);
    }

    @Override
    public final void copyTo(long offset, float[] dst, int dstOffset, int n) {
        checkBlockRange(offset, dst, dstOffset, n);
        int block = type().blockSize();
        dequantize(offset / block, dst, dstOffset, dstOffset + WeightKernels.L, 2 * WeightKernels.L, n / block);
    }

    /**
     * Copies elements {@code [offset, offset + n)} as the two chains of {@link WeightKernels#dotTwoChains}: the even
     * vectors' elements at {@code dstOffset}, the odd ones' at {@code dstOffset + n / 2}, dequantized straight into
     * place. Prefill multiplies quantized rows laid out this way.
     */
    final void copyToTwoChains(long offset, float[] dst, int dstOffset, int n) {
        checkBlockRange(offset, dst, dstOffset, n);
        int block = type().blockSize();
        dequantize(offset / block, dst, dstOffset, dstOffset + n / 2, WeightKernels.L, n / block);
    }
}
