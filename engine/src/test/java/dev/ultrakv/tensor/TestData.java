package dev.ultrakv.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.EnumSet;
import java.util.Random;
import java.util.Set;

/** Seeded random inputs for the kernel tests. */
final class TestData {

    /** Unit roundoff of float: half an ulp of 1. */
    static final double FLOAT_U = 0x1p-24;

    private TestData() {
    }

    /** {@code n} floats uniform in [-1, 1). */
    static float[] floats(Random random, int n) {
        float[] a = new float[n];
        for (int i = 0; i < n; i++) {
            a[i] = random.nextFloat() * 2 - 1;
        }
        return a;
    }

    /** The types {@link TensorEncoder} writes today; {@link #random} builds the others from raw blocks. */
    static final Set<GgmlType> ENCODABLE = EnumSet.of(GgmlType.F32, GgmlType.F16, GgmlType.BF16, GgmlType.Q8_0,
            GgmlType.Q4_0);

    /** A tensor of {@code values} encoded as {@code type} in {@code arena}. */
    static FloatTensor tensor(GgmlType type, float[] values, Arena arena) {
        return Tensors.wrap(type, TensorEncoder.encode(type, values, arena), values.length);
    }

    /**
     * A tensor of {@code n} elements of {@code type}: random floats encoded, for the types {@link TensorEncoder}
     * writes; for the others, seeded random blocks, every byte random but the float16 scales and minimums, which
     * are kept finite and below 0.05 in magnitude so that dot products stay of moderate size.
     */
    static FloatTensor random(GgmlType type, Random random, int n, Arena arena) {
        if (ENCODABLE.contains(type)) {
            return tensor(type, floats(random, n), arena);
        }
        MemorySegment blocks = arena.allocate(type.bytesFor(n), WeightKernels.F.vectorByteSize());
        byte[] bytes = new byte[(int) blocks.byteSize()];
        random.nextBytes(bytes);
        MemorySegment.copy(bytes, 0, blocks, ValueLayout.JAVA_BYTE, 0, bytes.length);
        for (long block = 0; block < blocks.byteSize(); block += type.blockBytes()) {
            for (int at : halfOffsets(type)) {
                float scale = (random.nextFloat() * 2 - 1) * 0.05f;
                blocks.set(WeightKernels.I16_LE, block + at, Float.floatToFloat16(scale));
            }
        }
        return Tensors.wrap(type, blocks, n);
    }

    /** Where in a block of {@code type} its float16 scales and minimums are (ggml-common.h). */
    private static int[] halfOffsets(GgmlType type) {
        return switch (type) {
            case F32, F16, BF16 -> new int[0];
            case Q4_0, Q5_0, Q8_0 -> new int[] {0};
            case Q4_1, Q5_1, Q4_K, Q5_K -> new int[] {0, 2};
            case Q2_K -> new int[] {80, 82};
            case Q3_K -> new int[] {108};
            case Q6_K -> new int[] {208};
        };
    }

    /** All elements of {@code t} read one by one with {@link FloatTensor#getFloat}. */
    static float[] elements(FloatTensor t) {
        float[] a = new float[Math.toIntExact(t.size())];
        for (int i = 0; i < a.length; i++) {
            a[i] = t.getFloat(i);
        }
        return a;
    }

    /**
     * Bound on the rounding error of a float sum of {@code n} products whose absolute values sum to
     * {@code magnitude}, in any order of addition, with or without fused multiply-add: {@code (n + 2) u Σ|w x|}
     * (Higham's γ_n for summation plus one rounding of the product and one of a block scale), plus a tiny floor
     * for sums of zeros.
     */
    static double sumTolerance(int n, double magnitude) {
        return (n + 2) * FLOAT_U * magnitude + 1e-30;
    }
}
