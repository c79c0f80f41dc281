package dev.ultrakv.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Each kernel against its scalar twin in {@link ScalarKernels} on seeded random inputs whose sizes are not
 * multiples of the vector width.
 *
 * <p>Tolerances: kernels that keep run.c's float order (rmsnorm, rope, softmax, swiglu, add, axpy) must match
 * bit for bit. Vectorised sums (dot, matmul) add in another order, so they are checked against a double-precision
 * sum within the standard rounding bound {@link TestData#sumTolerance} of (n + 2)·u·Σ|w·x|, which holds for every
 * order of addition; a kernel that drops or repeats a term misses it by orders of magnitude.
 */
class KernelsTest {

    private static final int[] ODD_SIZES = {0, 1, 3, 7, 15, 16, 17, 31, 33, 63, 100, 257, 1000};
    /** Batch sizes around the register tile's multiples, and large ones split across threads. */
    private static final int[] BATCHES = {1, 2, 3, 7, 17, 49};
    private static final int[] ROWS = {1, 3, 7, 17, 64};

    @Test
    void dot_matchesDoubleSum_atOddSizesAndOffsets() {
        Random random = new Random(1);
        for (int n : ODD_SIZES) {
            float[] a = TestData.floats(random, n + 5);
            float[] b = TestData.floats(random, n + 3);
            float got = Kernels.dot(a, 5, b, 3, n);
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
            Kernels.axpy(0.37f, x, 2, y, 1, n);
            assertArrayEquals(expected, y, "axpy n=" + n);

            float[] sum = TestData.floats(random, n);
            float[] addend = TestData.floats(random, n);
            float[] expectedSum = sum.clone();
            for (int i = 0; i < n; i++) {
                expectedSum[i] += addend[i];
            }
            Kernels.add(sum, addend, n);
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
            Kernels.rmsnorm(out, 4, x, 0, weight, n, 1e-5f);
            assertArrayEquals(expected, Arrays.copyOfRange(out, 4, n + 4), "n=" + n);

            float[] inPlace = x.clone();
            Kernels.rmsnorm(inPlace, 0, inPlace, 0, weight, n, 1e-5f);
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
                    Kernels.rope(vec, 3, heads, headSize, pos, theta);
                    assertArrayEquals(expected, Arrays.copyOfRange(vec, 3, vec.length),
                            "heads=" + heads + " headSize=" + headSize + " pos=" + pos + " theta=" + theta);
                }
            }
        }
    }

    @Test
    void rope_rejectsOddHeadSize() {
        assertThrows(IllegalArgumentException.class, () -> Kernels.rope(new float[6], 0, 2, 3, 1, 10000f));
    }

    @Test
    void softmax_matchesRunC_bitForBit() {
        Random random = new Random(5);
        for (int n : ODD_SIZES) {
            if (n == 0) {
                continue;
            }
            float[] x = TestData.floats(random, n + 2);
            for (int i = 0; i < x.length; i++) {
                x[i] *= 20;
            }
            float[] expected = Arrays.copyOfRange(x, 2, x.length);
            ScalarKernels.softmax(expected, n);
            Kernels.softmax(x, 2, n);
            assertArrayEquals(expected, Arrays.copyOfRange(x, 2, x.length), "n=" + n);
        }
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
            Kernels.swiglu(gate, up, n);
            assertArrayEquals(expected, gate, "n=" + n);
        }
    }

    /**
     * Attention over a dense per-layer store (positions x kvDim floats, the head at kvHead * headSize), on heap and
     * off heap. The score dot products add in vector order, so the result may differ from run.c's by a few ulps of
     * the scores, scaled through the softmax; 1e-5 relative to the values' scale is a hundred times that.
     */
    @Test
    void attention_matchesRunC_onHeapAndOffHeap() {
        Random random = new Random(7);
        int[][] shapes = {{1, 8, 1}, {3, 8, 2}, {17, 48, 3}, {33, 64, 4}, {100, 72, 2}};
        try (Arena arena = Arena.ofConfined()) {
            for (int[] shape : shapes) {
                int length = shape[0];
                int headSize = shape[1];
                int kvHeads = shape[2];
                int kvDim = kvHeads * headSize;
                float[] keys = TestData.floats(random, length * kvDim);
                float[] values = TestData.floats(random, length * kvDim);
                MemorySegment keySegment = TestData.tensor(GgmlType.F32, keys, arena).segment();
                MemorySegment valueSegment = TestData.tensor(GgmlType.F32, values, arena).segment();
                for (int kvHead = 0; kvHead < kvHeads; kvHead++) {
                    float[] q = TestData.floats(random, headSize);
                    for (int i = 0; i < headSize; i++) {
                        q[i] *= 4;
                    }
                    int kvOffset = kvHead * headSize;
                    float[] expected = ScalarKernels.attention(q, keys, values, kvOffset, kvDim, headSize, length);

                    float[] out = new float[headSize + 1];
                    float[] scores = new float[length];
                    Kernels.attention(q, 0, keys, values, kvOffset, kvDim, headSize, length, scores, out, 1);
                    assertClose(expected, Arrays.copyOfRange(out, 1, out.length), 1e-5, "heap " + length);

                    float[] outOff = new float[headSize];
                    Kernels.attention(q, 0, keySegment, valueSegment, kvOffset, kvDim, headSize, length, scores,
                            outOff, 0);
                    assertClose(expected, outOff, 1e-5, "off heap " + length);
                }
            }
        }
    }

    @Test
    void attentionScores_offHeap_rejectsKeysPastTheSegment() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment keys = arena.allocate(10L * 8 * Float.BYTES);
            float[] scores = new float[11];
            assertThrows(IndexOutOfBoundsException.class,
                    () -> Kernels.attentionScores(new float[8], 0, keys, 0, 8, 8, 11, scores, 0));
        }
    }

    /** Matmul of every type against a double-precision product of the tensor's own elements. */
    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void matmul_matchesScalar_atOddShapes(GgmlType type) {
        Random random = new Random(8 + type.ordinal());
        int[] colsList = type.blockSize() == 1 ? new int[] {1, 5, 17, 33, 100, 257} : new int[] {32, 96, 160, 224};
        try (Arena arena = Arena.ofShared()) {
            for (int rows : ROWS) {
                for (int cols : colsList) {
                    FloatTensor w = TestData.tensor(type, TestData.floats(random, rows * cols), arena);
                    float[] weights = TestData.elements(w);
                    for (int batch : BATCHES) {
                        checkMatmul(w, weights, rows, cols, batch, random);
                    }
                }
            }
        }
    }

    /**
     * Shapes big enough to be split across threads (the tensor is in a shared arena) and to span several batch
     * blocks.
     */
    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void matmul_matchesScalar_whenParallelAndBlocked(GgmlType type) {
        Random random = new Random(20 + type.ordinal());
        int cols = type.blockSize() == 1 ? 775 : 768;
        int rows = 67;
        try (Arena arena = Arena.ofShared()) {
            FloatTensor w = TestData.tensor(type, TestData.floats(random, rows * cols), arena);
            float[] weights = TestData.elements(w);
            for (int batch : new int[] {1, 33, 54, 263}) {
                checkMatmul(w, weights, rows, cols, batch, random);
            }
        }
    }

    @Test
    void matmul_usesOnlyTheFirstRowsTimesColsWeights_andRejectsBadShapes() {
        Random random = new Random(9);
        try (Arena arena = Arena.ofConfined()) {
            FloatTensor w = TestData.tensor(GgmlType.F32, TestData.floats(random, 50), arena);
            float[] weights = TestData.elements(w);
            checkMatmul(w, weights, 7, 7, 3, random);
            // A confined segment is multiplied on this thread alone, whatever the size.
            FloatTensor big = TestData.tensor(GgmlType.F32, TestData.floats(random, 300 * 257), arena);
            checkMatmul(big, TestData.elements(big), 300, 257, 1, random);
            checkMatmul(big, TestData.elements(big), 300, 257, 5, random);
            checkMatmul(big, TestData.elements(big), 300, 257, 60, random);
            IllegalArgumentException tooFew = assertThrows(IllegalArgumentException.class,
                    () -> Kernels.matmul(w, 8, 7, new float[7], 1, new float[8]));
            assertTrue(tooFew.getMessage().contains("56"), tooFew.getMessage());

            FloatTensor q = TestData.tensor(GgmlType.Q8_0, TestData.floats(random, 64), arena);
            IllegalArgumentException partial = assertThrows(IllegalArgumentException.class,
                    () -> Kernels.matmul(q, 4, 16, new float[16], 1, new float[4]));
            assertTrue(partial.getMessage().contains("Q8_0"), partial.getMessage());
            assertThrows(IndexOutOfBoundsException.class,
                    () -> Kernels.matmul(w, 7, 7, new float[7], 2, new float[14]));
        }
    }

    private static void checkMatmul(FloatTensor w, float[] weights, int rows, int cols, int batch, Random random) {
        float[] x = TestData.floats(random, batch * cols);
        float[] out = new float[batch * rows];
        Arrays.fill(out, Float.NaN);
        Kernels.matmul(w, rows, cols, x, batch, out);
        ScalarKernels.Exact exact = ScalarKernels.matmul(weights, rows, cols, x, batch);
        for (int i = 0; i < out.length; i++) {
            assertEquals(exact.value()[i], out[i], TestData.sumTolerance(cols, exact.magnitude()[i]),
                    () -> w.type() + " rows=" + rows + " cols=" + cols + " batch=" + batch);
        }
    }

    private static void assertClose(float[] expected, float[] actual, double tolerance, String message) {
        assertEquals(expected.length, actual.length, message);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], tolerance, message + " at " + i);
        }
    }
}
