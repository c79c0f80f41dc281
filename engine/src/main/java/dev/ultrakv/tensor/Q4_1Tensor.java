package dev.ultrakv.tensor;

import java.lang.foreign.MemorySegment;

/** Q4_1 tensors: blocks of 32 elements, each {@code q · d + m} (layout in {@link LegacyQuantKernels}). */
final class Q4_1Tensor extends AffineBlockTensor {

    Q4_1Tensor(MemorySegment segment, long size) {
        super(segment, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_1;
    }

    @Override
    float element(long blockByte, int e) {
        return LegacyQuantKernels.q41Element(segment, blockByte, e);
    }

    @Override
    float dotVector(long firstBlock, float[] x, int xOffset, int blocks) {
        return LegacyQuantKernels.dotQ4_1(segment, firstBlock, x, xOffset, blocks);
    }

    @Override
    void dequantizeVector(long firstBlock, float[] dst, int evenBase, int oddBase, int step, int blocks) {
        LegacyQuantKernels.copyQ4_1(segment, firstBlock, dst, evenBase, oddBase, step, blocks);
    }
}
