package dev.ultrakv.tensor;

import java.lang.foreign.Arena;
import java.util.Random;

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

    /** A tensor of {@code values} encoded as {@code type} in {@code arena}. */
    static FloatTensor tensor(GgmlType type, float[] values, Arena arena) {
        return Tensors.wrap(type, TensorEncoder.encode(type, values, arena), values.length);
    }

    /** A tensor of {@code n} seeded random floats in [-1, 1) encoded as {@code type}. */
    static FloatTensor random(GgmlType type, Random random, int n, Arena arena) {
        return tensor(type, floats(random, n), arena);
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
