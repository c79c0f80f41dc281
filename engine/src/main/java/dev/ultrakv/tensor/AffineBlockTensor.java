package dev.ultrakv.tensor;

import java.lang.foreign.MemorySegment;

/**
 * A quantized tensor whose elements are each {@code q · a + c}: a small integer level {@code q} unpacked from the
 * block's bits, the scale {@code a} of its group (the block, or a sub-block of 16 or 32 elements) and that group's
 * offset {@code c} (none for the symmetric types). Q4_1, Q5_0, Q5_1 and the K-quants are all of this form.
 *
 * <p>The product is rounded to float and then the offset added, in two roundings as ggml's {@code dequantize_row_*}
 * do (never fused), so the floats are ggml's bit for bit. Each type decodes one element at a time
 * ({@link #element}) for {@link #getFloat} and for CPUs whose vectors are too narrow for its vector kernels
 * ({@link WeightKernels#QUANT_SIMD}); the vector kernels give the same floats a vector at a time.
 */
abstract sealed class AffineBlockTensor extends BlockTensor
        permits Q4_1Tensor, Q5_0Tensor, Q5_1Tensor, Q2_KTensor, Q3_KTensor, Q4_KTensor, Q5_KTensor, Q6_KTensor {

    AffineBlockTensor(MemorySegment segment, long size) {
        super(segment, size);
    }

    /** Element {@code e} of the block starting at byte {@code blockByte}, decoded on its own. */
    abstract float element(long blockByte, int e);

    /** {@link #dotBlocks} by the type's vector kernel; called only where {@link WeightKernels#QUANT_SIMD} holds. */
    abstract float dotVector(long firstBlock, float[] x, int xOffset, int blocks);

    /** {@link #dequantize} by the type's vector kernel; called only where {@link WeightKernels#QUANT_SIMD} holds. */
    abstract void dequantizeVector(long firstBlock, float[] dst, int evenBase, int oddBase, int step, int blocks);

    @Override
    public final float getFloat(long index) {
        checkIndex(index);
        GgmlType type = type();
        return element(index / type.blockSize() * type.blockBytes(), (int) (index % type.blockSize()));
    }

    @Override
    final float dotBlocks(long firstBlock, float[] x, int xOffset, int blocks) {
        if (WeightKernels.QUANT_SIMD) {
            return dotVector(firstBlock, x, xOffset, blocks);
        }
        float[] weights = new float[blocks * type().blockSize()];
        dequantizeScalar(firstBlock, weights, 0, WeightKernels.L, 2 * WeightKernels.L, blocks);
        return WeightKernels.dotTwoChains(weights, 0, x, xOffset, weights.length);
    }

    @Override
    final void dequantize(long firstBlock, float[] dst, int evenBase, int oddBase, int step, int blocks) {
        if (WeightKernels.QUANT_SIMD) {
            dequantizeVector(firstBlock, dst, evenBase, oddBase, step, blocks);
        } else {
            dequantizeScalar(firstBlock, dst, evenBase, oddBase, step, blocks);
        }
    }

    private void dequantizeScalar(long firstBlock, float[] dst, int evenBase, int oddBase, int step, int blocks) {
        int size = type().blockSize();
        int bytes = type().blockBytes();
        int lanes = WeightKernels.L;
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * bytes;
            for (int e = 0; e < size; e++) {
                int i = k * size + e;
                dst[WeightKernels.chunkStart(i / lanes, evenBase, oddBase, step) + i % lanes] = element(o, e);
            }
        }
    }
}
