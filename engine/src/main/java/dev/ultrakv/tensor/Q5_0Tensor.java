package dev.ultrakv.tensor;

import java.lang.foreign.MemorySegment;

/** Q5_0 tensors: blocks of 32 elements, each {@code (q - 16) · d} (layout in {@link LegacyQuantKernels}). */
final class Q5_0Tensor extends AffineBlockTensor {

    Q5_0Tensor(MemorySegment segment, long size) {
        super(segment, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q5_0;
    }

    @Override
    float element(long blockByte, int e) {
        return LegacyQuantKernels.q50Element(segment, blockByte, e);
    }

    @Override
    float dotVector(long firstBlock, float[] x, int xOffset, int blocks) {
        return LegacyQuantKernels.dotQ5_0(segment, firstBlock, x, xOffset, blocks);
    }

    @Override
    void dequantizeVector(long firstBlock, float[] dst, int evenBase, int oddBase, int step, int blocks) {
        LegacyQuantKernels.copyQ5_0(segment, firstBlock, dst, evenBase, oddBase, step, blocks);
    }
}
