package dev.ultrakv.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Q8_0 blocks of 32 elements: a little-endian float16 scale {@code d}, then 32 signed bytes {@code q};
 * element {@code j} is {@code q[j] * d}.
 */
final class Q8_0Tensor extends BlockTensor {

    Q8_0Tensor(MemorySegment segment, long size) {
        super(segment, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q8_0;
    }

    @Override
    public float getFloat(long index) {
        checkIndex(index);
        long block = index / WeightKernels.QK * GgmlType.Q8_0.blockBytes();
        float scale = Float.float16ToFloat(segment.get(WeightKernels.I16_LE, block));
        byte q = segment.get(WeightKernels.I8, block + Short.BYTES + index % WeightKernels.QK);
        return q * scale;
    }

    @Override
    float dotBlocks(long firstBlock, float[] x, int xOffset, int blocks) {
        return WeightKernels.dotQ8_0(segment, firstBlock, x, xOffset, blocks);
    }

    @Override
    void dequantize(long firstBlock, float[] dst, int evenBase, int oddBase, int step, int blocks) {
        WeightKernels.copyQ8_0(segment, firstBlock, dst, evenBase, oddBase, step, blocks);
    }
}
