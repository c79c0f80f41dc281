package dev.ultrakv.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.Arrays;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * {@link Matmul} of every type against a double-precision product in {@link ScalarKernels}, on seeded random
 * inputs at odd shapes, batched and parallel.
 *
 * <p>Tolerance: the vectorised sums add in another order than a scalar loop, so they are checked within the
 * standard rounding bound {@link TestData#sumTolerance} of (n + 2)·u·Σ|w·x|, which holds for every order of
 * addition; a kernel that drops or repeats a term misses it by orders of magnitude.
 */
class MatmulTest {

    /** Batch sizes around the register tile's multiples, and large ones split across threads. */
    private static final int[] BATCHES = {1, 2, 3, 7, 17, 49};
    private static final int[] ROWS = {1, 3, 7, 17, 64};

    /** Matmul of every type against a double-precision product of the tensor's own elements. */
    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void matmul_matchesScalar_atOddShapes(GgmlType type) {
        Random random = new Random(8 + type.ordinal());
        int[] colsList = switch (type.blockSize()) {
            case 1 -> new int[] {1, 5, 17, 33, 100, 257};
            case 32 -> new int[] {32, 96, 160, 224};
            default -> new int[] {type.blockSize(), 3 * type.blockSize()};
        };
        try (Arena arena = Arena.ofShared()) {
            for (int rows : ROWS) {
                for (int cols : colsList) {
                    FloatTensor w = TestData.random(type, random, rows * cols, arena);
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
            FloatTensor w = TestData.random(type, random, rows * cols, arena);
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
                    () -> Matmul.matmul(w, 8, 7, new float[7], 1, new float[8]));
            assertTrue(tooFew.getMessage().contains("56"), tooFew.getMessage());

            FloatTensor q = TestData.tensor(GgmlType.Q8_0, TestData.floats(random, 64), arena);
            IllegalArgumentException partial = assertThrows(IllegalArgumentException.class,
                    () -> Matmul.matmul(q, 4, 16, new float[16], 1, new float[4]));
            assertTrue(partial.getMessage().contains("Q8_0"), partial.getMessage());
            assertThrows(IndexOutOfBoundsException.class,
                    () -> Matmul.matmul(w, 7, 7, new float[7], 2, new float[14]));
        }
    }

    private static void checkMatmul(FloatTensor w, float[] weights, int rows, int cols, int batch, Random random) {
        float[] x = TestData.floats(random, batch * cols);
        float[] out = new float[batch * rows];
        Arrays.fill(out, Float.NaN);
        Matmul.matmul(w, rows, cols, x, batch, out);
        ScalarKernels.Exact exact = ScalarKernels.matmul(weights, rows, cols, x, batch);
        for (int i = 0; i < out.length; i++) {
            assertEquals(exact.value()[i], out[i], TestData.sumTolerance(cols, exact.magnitude()[i]),
                    () -> w.type() + " rows=" + rows + " cols=" + cols + " batch=" + batch);
        }
    }
}
