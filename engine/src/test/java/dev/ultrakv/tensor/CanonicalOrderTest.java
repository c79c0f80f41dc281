package dev.ultrakv.tensor;

import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.params.provider.MethodSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Random;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Every sum is taken in the canonical order (see the notes of {@link WeightKernels}), so results are bit-identical
 * whatever the batch, the address of the weights, the thread or the JIT state. Prefix caching and batching rely on
 * it.
 */
class CanonicalOrderTest {
    private static final int L = FloatVector.SPECIES_PREFERRED.length();

    /** The canonical order written out in scalar Java: lane accumulators by fused multiply-add, then a tree. */
    static float canonicalDot(float[] w, int wOffset, float[] x, int xOffset, int n) {
        float[] lanes = new float[L];
        for (int i = 0; i < n; i++) {
            lanes[i % L] = Math.fma(w[wOffset + i], x[xOffset + i], lanes[i % L]);
        }
        // The last chunk is padded with zeros: lanes past the end take fma(0, 0, acc).
        for (int i = n; i % L != 0; i++) {
            lanes[i % L] = Math.fma(0f, 0f, lanes[i % L]);
        }
        return foldTree(lanes);
    }

    /** The fixed tree of {@code WeightKernels.sumLanes}: lane j plus lane j + h, for h = L/2 down to 1. */
    private static float foldTree(float[] lanes) {
        for (int h = L / 2; h >= 1; h /= 2) {
            float[] folded = new float[L];
            for (int j = 0; j < L; j++) {
                folded[j] = lanes[j] + lanes[(j + h) % L];
            }
            lanes = folded;
        }
        return lanes[0];
    }

    /**
     * The canonical order of the quantized types written out: lane accumulators by fused multiply-add for the even
     * chunks of L elements and for the odd ones, the two added lane by lane, then the tree.
     */
    static float canonicalTwoChainDot(float[] w, int wOffset, float[] x, int xOffset, int n) {
        float[][] chains = new float[2][L];
        for (int i = 0; i < n; i++) {
            float[] lanes = chains[(i / L) % 2];
            lanes[i % L] = Math.fma(w[wOffset + i], x[xOffset + i], lanes[i % L]);
        }
        float[] lanes = new float[L];
        for (int j = 0; j < L; j++) {
            lanes[j] = chains[0][j] + chains[1][j];
        }
        return foldTree(lanes);
    }

    @Test
    void twoChainDotFollowsItsOrderBitForBit() {
        Random random = new Random(5);
        for (int n : new int[] {2 * L, 64, 320, 2048}) {
            float[] a = TestData.floats(random, n + 5);
            float[] b = TestData.floats(random, n + 3);
            for (int rep = 0; rep < 200; rep++) {
                assertEquals(canonicalTwoChainDot(a, 5, b, 3, n), WeightKernels.dotTwoChains(a, 5, b, 3, n), "n=" + n);
            }
        }
        IllegalArgumentException odd = assertThrows(IllegalArgumentException.class,
                () -> WeightKernels.dotTwoChains(new float[L], 0, new float[L], 0, L));
        assertTrue(odd.getMessage().contains("not a multiple of " + 2 * L), odd.getMessage());
    }

    @Test
    void arrayDotFollowsTheCanonicalOrderBitForBit() {
        Random random = new Random(1);
        for (int n : new int[] {1, 7, 15, 16, 17, 63, 64, 65, 172, 768, 1001}) {
            float[] a = TestData.floats(random, n + 5);
            float[] b = TestData.floats(random, n + 3);
            for (int rep = 0; rep < 200; rep++) { // interpreted first, then compiled: the bits must not change
                assertEquals(canonicalDot(a, 5, b, 3, n), VectorOps.dot(a, 5, b, 3, n), "n=" + n);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void tensorDotEqualsTheCanonicalDotOfItsDequantizedWeights(GgmlType type) {
        Random random = new Random(2 + type.ordinal());
        int n = type.blockSize() == 1 ? 333 : Math.max(320, 2 * type.blockSize());
        try (Arena arena = Arena.ofConfined()) {
            FloatTensor w = TestData.random(type, random, n, arena);
            float[] weights = TestData.elements(w);
            float[] x = TestData.floats(random, n);
            float expected = type.blockSize() == 1
                    ? canonicalDot(weights, 0, x, 0, n)
                    : canonicalTwoChainDot(weights, 0, x, 0, n);
            for (int rep = 0; rep < 100; rep++) {
                assertEquals(expected, w.dot(0, x, 0, n), type + " dot");
            }
        }
    }

    /** The quantized types: those stored in blocks. */
    static Stream<GgmlType> blockTypes() {
        return Arrays.stream(GgmlType.values()).filter(t -> t.blockSize() > 1);
    }

    /**
     * The two-chain layout written out (even vectors of L elements, then odd ones), against both places that produce
     * it: a quantized tensor dequantizing into place, and the activations' split.
     */
    @ParameterizedTest
    @MethodSource("blockTypes")
    void copyToTwoChainsPlacesTheEvenVectorsThenTheOddOnes(GgmlType type) {
        Random random = new Random(6 + type.ordinal());
        int n = 256;
        try (Arena arena = Arena.ofConfined()) {
            BlockTensor w = (BlockTensor) TestData.random(type, random, 2 * n, arena);
            float[] row = new float[n];
            w.copyTo(n, row, 0, n);
            float[] expected = new float[n + 3];
            for (int i = 0; i < n; i++) {
                int chunk = i / L;
                expected[3 + (chunk % 2) * (n / 2) + (chunk / 2) * L + i % L] = row[i];
            }
            float[] split = new float[n + 3];
            w.copyToTwoChains(n, split, 3, n);
            assertArrayEquals(expected, split, type.toString());
            float[] activations = new float[n + 3];
            WeightKernels.splitChains(row, 0, activations, 3, n);
            assertArrayEquals(expected, activations, type + " as activations");
        }
    }

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void dotDoesNotDependOnTheAddressOfTheWeights(GgmlType type) {
        Random random = new Random(3 + type.ordinal());
        int n = type.blockSize() == 1 ? 201 : Math.max(224, type.blockSize());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment encoded = TestData.random(type, random, n, arena).segment();
            float[] x = TestData.floats(random, n);
            float expected = Tensors.wrap(type, encoded, n).dot(0, x, 0, n);
            for (int shift = 1; shift < 64; shift += 3) {
                MemorySegment shifted = arena.allocate(encoded.byteSize() + shift, 64).asSlice(shift);
                MemorySegment.copy(encoded, 0, shifted, 0, encoded.byteSize());
                assertEquals(expected, Tensors.wrap(type, shifted, n).dot(0, x, 0, n), "shift " + shift);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void matmulRowsAreBitIdenticalWhateverBatchTheyArePartOf(GgmlType type) {
        Random random = new Random(4 + type.ordinal());
        int cols = type.blockSize() == 1 ? 173 : Math.max(192, 2 * type.blockSize());
        int rows = 37;
        try (Arena arena = Arena.ofShared()) {
            FloatTensor w = TestData.random(type, random, rows * cols, arena);
            for (int batch : new int[] {2, 3, 5, 17, 64}) {
                float[] x = TestData.floats(random, batch * cols);
                float[] out = new float[batch * rows];
                Matmul.matmul(w, rows, cols, x, batch, out);
                for (int b = 0; b < batch; b++) {
                    float[] one = new float[rows];
                    float[] xb = new float[cols];
                    System.arraycopy(x, b * cols, xb, 0, cols);
                    Matmul.matmul(w, rows, cols, xb, 1, one);
                    float[] row = new float[rows];
                    System.arraycopy(out, b * rows, row, 0, rows);
                    assertArrayEquals(one, row, type + " batch " + batch + " token " + b);
                }
            }
        }
    }

    @Test
    void offHeapAttentionScoresEqualOnHeapScores() {
        Random random = new Random(5);
        int headSize = 48;
        int length = 37;
        float[] q = TestData.floats(random, headSize);
        float[] keys = TestData.floats(random, length * headSize);
        float[] onHeap = new float[length];
        float[] offHeap = new float[length];
        Attention.attentionScores(q, 0, keys, 0, headSize, headSize, length, onHeap, 0);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment seg = arena.allocate((long) keys.length * Float.BYTES + 4, 64).asSlice(4);
            MemorySegment.copy(keys, 0, seg, WeightKernels.F32_LE, 0, keys.length);
            Attention.attentionScores(q, 0, seg, 0, headSize, headSize, length, offHeap, 0);
        }
        assertArrayEquals(onHeap, offHeap);
    }
}
