package dev.ultrakv.tensor;

import java.lang.foreign.MemorySegment;

/** Q4_K tensors: super-blocks of 256 elements, 4-bit levels (layout in {@link KQuantKernels}). */
final class Q4_KTensor extends AffineBlockTensor {

    Q4_KTensor(MemorySegment segment, long size) {
        super(segment, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_K;
    }

    @Override
    float element(long blockByte, int e) {
        return KQuantKernels.q4kElement(segment, blockByte, e);
    }

    @Override
    float dotVector(long firstBlock, float[] x, int xOffset, int blocks) {
        return KQuantKernels.dotQ4_K(segment, firstBlock, x, xOffset, blocks);
    }

    @Override
    void dequantizeVector(long firstBlock, float[] dst, int evenBase, int oddBase, int step, int blocks) {
        KQuantKernels.copyQ4_K(segment, firstBlock, dst, evenBase, oddBase, step, blocks);
    }
}
