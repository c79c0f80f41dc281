package dev.ultrakv.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;

/**
 * Each {@link VectorOps} kernel against its scalar twin in {@link ScalarKernels} on seeded random inputs whose
 * sizes are not multiples of the vector width.
 *
 * <p>Tolerances: kernels that keep run.c's float order (rmsnorm, rope, softmax, swiglu, add, axpy) must match
 * bit for bit. The vectorised dot product adds in another order, so it is checked against a double-precision
 * sum within the standard rounding bound {@link TestData#sumTolerance} of (n + 2)·u·Σ|w·x|, which holds for every
 * order of addition; a kernel that drops or repeats a term misses it by orders of magnitude.
 */
class VectorOpsTest {

    private static final int[] ODD_SIZES = {0, 1, 3, 7, 15, 16, 17, 31, 33, 63, 100, 257, 1000};

    @Test
    void dot_matchesDoubleSum_atOddSizesAndOffsets() {
        Random random = new Random(1);
        for (int n : ODD_SIZES) {
            float[] a = TestData.floats(random, n + 5);
            float[] b = TestData.floats(random, n + 3);
            float got = VectorOps.dot(a, 5, b, 3, n);
            double exact = 0;
            double magnitude = 0;
            for (int i = 0; i < n; i++) {
                exact += (double) a[5 + i] * b[3 + i];
                magnitude += Math.abs((double) a[5 + i] * b[3 + i]);
            }
            assertEquals(exact, got, TestData.sumTolerance(n, magnitude), "n=" + n);
        }
    }

    @Test
    void axpyAndAdd_matchScalarBitForBit() {
        Random random = new Random(2);
        for (int n : ODD_SIZES) {
            float[] x = TestData.floats(random, n + 2);
            float[] y = TestData.floats(random, n + 1);
            float[] expected = y.clone();
            for (int i = 0; i < n; i++) {
                expected[1 + i] += 0.37f * x[2 + i];
            }
            VectorOps.axpy(0.37f, x, 2, y, 1, n);
            assertArrayEquals(expected, y, "axpy n=" + n);

            float[] sum = TestData.floats(random, n);
            float[] addend = TestData.floats(random, n);
            float[] expectedSum = sum.clone();
            for (int i = 0; i < n; i++) {
                expectedSum[i] += addend[i];
            }
            VectorOps.add(sum, addend, n);
            assertArrayEquals(expectedSum, sum, "add n=" + n);
        }
    }

    @Test
    void rmsnorm_matchesRunC_bitForBit_inPlaceToo() {
        Random random = new Random(3);
        for (int n : ODD_SIZES) {
            if (n == 0) {
                continue;
            }
            float[] x = TestData.floats(random, n);
            float[] weight = TestData.floats(random, n);
            float[] expected = new float[n];
            ScalarKernels.rmsnorm(expected, x, weight, n, 1e-5f);

            float[] out = new float[n + 4];
            VectorOps.rmsnorm(out, 4, x, 0, weight, n, 1e-5f);
            assertArrayEquals(expected, Arrays.copyOfRange(out, 4, n + 4), "n=" + n);

            float[] inPlace = x.clone();
            VectorOps.rmsnorm(inPlace, 0, inPlace, 0, weight, n, 1e-5f);
            assertArrayEquals(expected, inPlace, "in place n=" + n);
        }
    }

    @Test
    void rope_matchesRunC_bitForBit() {
        Random random = new Random(4);
        int[][] shapes = {{1, 2}, {3, 8}, {8, 8}, {6, 48}, {12, 64}, {4, 128}};
        for (int[] shape : shapes) {
            int heads = shape[0];
            int headSize = shape[1];
            for (int pos : new int[] {0, 1, 7, 255, 4095}) {
                for (float theta : new float[] {10000f, 500000f}) {
                    float[] vec = TestData.floats(random, heads * headSize + 3);
                    float[] expected = Arrays.copyOfRange(vec, 3, vec.length);
                    ScalarKernels.rope(expected, heads * headSize, headSize, pos, theta);
                    VectorOps.rope(vec, 3, heads, headSize, pos, theta);
                    assertArrayEquals(expected, Arrays.copyOfRange(vec, 3, vec.length),
                            "heads=" + heads + " headSize=" + headSize + " pos=" + pos + " theta=" + theta);
                }
            }
        }
    }

    @Test
    void rope_rejectsOddHeadSize() {
        assertThrows(IllegalArgumentException.class, () -> VectorOps.rope(new float[6], 0, 2, 3, 1, 10000f));
    }

    @Test
    void swiglu_matchesRunC_bitForBit() {
        Random random = new Random(6);
        for (int n : ODD_SIZES) {
            float[] gate = TestData.floats(random, n);
            float[] up = TestData.floats(random, n);
            for (int i = 0; i < n; i++) {
                gate[i] *= 8;
            }
            float[] expected = gate.clone();
            ScalarKernels.swiglu(expected, up, n);
            VectorOps.swiglu(gate, up, n);
            assertArrayEquals(expected, gate, "n=" + n);
        }
    }

    @Test
    void gegluAndSoftCapFollowTheirDefinitionsWithinFloatRounding() {
        java.util.SplittableRandom random = new java.util.SplittableRandom(17);
        int n = 1000;
        float[] gate = new float[n];
        float[] up = new float[n];
        float[] scores = new float[n];
        for (int i = 0; i < n; i++) {
            gate[i] = (float) (12 * random.nextDouble() - 6);
            up[i] = (float) (4 * random.nextDouble() - 2);
            scores[i] = (float) (400 * random.nextDouble() - 200);
        }
        float[] gated = gate.clone();
        VectorOps.geglu(gated, up, 0, n);
        float[] capped = scores.clone();
        VectorOps.softCap(capped, 0, n, 50f);
        for (int i = 0; i < n; i++) {
            double x = gate[i];
            double gelu = 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
            assertEquals(gelu * up[i], gated[i], 1e-5 * Math.max(1, Math.abs(gelu * up[i])), "gelu at " + x);
            double cap = 50 * Math.tanh(scores[i] / 50.0);
            assertEquals(cap, capped[i], 1e-5 * Math.abs(cap) + 1e-6, "soft cap of " + scores[i]);
            assertTrue(Math.abs(capped[i]) < 50f);
        }
    }
}
