package dev.ultrakv.tensor;

import java.lang.foreign.MemorySegment;

/** Q3_K tensors: super-blocks of 256 elements, 3-bit levels (layout in {@link KQuantKernels}). */
final class Q3_KTensor extends AffineBlockTensor {

    Q3_KTensor(MemorySegment segment, long size) {
        super(segment, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q3_K;
    }

    @Override
    float element(long blockByte, int e) {
        return KQuantKernels.q3kElement(segment, blockByte, e);
    }

    @Override
    float dotVector(long firstBlock, float[] x, int xOffset, int blocks) {
        return KQuantKernels.dotQ3_K(segment, firstBlock, x, xOffset, blocks);
    }

    @Override
    void dequantizeVector(long firstBlock, float[] dst, int evenBase, int oddBase, int step, int blocks) {
        KQuantKernels.copyQ3_K(segment, firstBlock, dst, evenBase, oddBase, step, blocks);
    }
}
