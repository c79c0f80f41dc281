package dev.ultrakv.tensor;

import java.lang.foreign.MemorySegment;

/**
 * Q4_0 blocks of 32 elements: a little-endian float16 scale {@code d}, then 16 bytes; byte {@code j} holds
 * element {@code j} in its low nibble and element {@code j + 16} in its high nibble, and a nibble {@code q}
 * means {@code (q - 8) * d}, exactly as ggml lays it out.
 */
final class Q4_0Tensor extends BlockTensor {

    Q4_0Tensor(MemorySegment segment, long size) {
        super(segment, size);
    }

    @Override
    public GgmlType type() {
        return GgmlType.Q4_0;
    }

    @Override
    public float getFloat(long index) {
        checkIndex(index);
        long block = index / WeightKernels.QK * GgmlType.Q4_0.blockBytes();
        float scale = Float.float16ToFloat(segment.get(WeightKernels.I16_LE, block));
        int j = (int) (index % WeightKernels.QK);
        int packed = segment.get(WeightKernels.I8, block + Short.BYTES + j % (WeightKernels.QK / 2)) & 0xFF;
        int nibble = j < WeightKernels.QK / 2 ? packed & 0x0F : packed >>> 4;
        return (nibble - 8) * scale;
    }

    @Override
    float dotBlocks(long firstBlock, float[] x, int xOffset, int blocks) {
        return WeightKernels.dotQ4_0(segment, firstBlock, x, xOffset, blocks);
    }

    @Override
    void dequantize(long firstBlock, float[] dst, int evenBase, int oddBase, int step, int blocks) {
        WeightKernels.copyQ4_0(segment, firstBlock, dst, evenBase, oddBase, step, blocks);
    }
}
