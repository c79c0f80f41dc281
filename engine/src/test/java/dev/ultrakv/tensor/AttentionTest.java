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

/**
 * {@link Attention} of one head against its scalar twin in {@link ScalarKernels} on seeded random inputs, on heap
 * and off heap, and its bounds checks.
 */
class AttentionTest {

    /** The most ulps {@link Attention#expNonPositive} may be from {@link Math#exp}, as its Javadoc says. */
    private static final int EXP_ULPS = 2;

    @Test
    void expNonPositive_isWithinTwoUlpsOfMathExpOverTheWholeRange() {
        int lanes = WeightKernels.L;
        float[] x = new float[lanes];
        float[] e = new float[lanes];
        // Every float in [-1, 0] would be 2^30 values; a dense grid of 2^22 points over [-87.3, 0] plus the ends.
        int points = 1 << 22;
        for (int p = 0; p <= points; p += lanes) {
            for (int j = 0; j < lanes; j++) {
                x[j] = -87.33f * Math.min(points, p + j) / points;
            }
            Attention.expNonPositive(jdk.incubator.vector.FloatVector.fromArray(WeightKernels.F, x, 0))
                    .intoArray(e, 0);
            for (int j = 0; j < lanes; j++) {
                float exact = (float) Math.exp(x[j]);
                int ulps = Math.abs(Float.floatToIntBits(e[j]) - Float.floatToIntBits(exact));
                assertTrue(ulps <= EXP_ULPS, "e^" + x[j] + ": " + e[j] + " against " + exact);
            }
        }
        float[] edges = new float[lanes];
        Arrays.fill(edges, 0f);
        edges[1] = -88f;
        edges[2] = Float.NEGATIVE_INFINITY;
        edges[3] = Float.NaN;
        edges[4] = Attention.EXP_UNDERFLOW;
        Attention.expNonPositive(jdk.incubator.vector.FloatVector.fromArray(WeightKernels.F, edges, 0))
                .intoArray(e, 0);
        assertEquals(1f, e[0], "e^0 is 1 exactly");
        assertEquals(0f, e[1]);
        assertEquals(0f, e[2]);
        assertTrue(Float.isNaN(e[3]));
        assertTrue(e[4] > 0 && Float.isFinite(e[4]));
    }

    /**
     * The weighted value sum against run.c's loop ({@code out[i] += w_t · v_t[i]}, position by position, product
     * rounded first), bit for bit, on heap and off heap, for head sizes with and without vector tails and with
     * {@code out} already holding a partial sum (a paged cache calls it once per block).
     */
    @Test
    void attentionValues_isRunCsSumBitForBit() {
        Random random = new Random(11);
        try (Arena arena = Arena.ofConfined()) {
            for (int headSize : new int[] {1, 8, 17, 48, 64, 72, 100, 128, 200}) {
                for (int length : new int[] {1, 2, 7, 33}) {
                    int stride = headSize + 3;
                    float[] values = TestData.floats(random, length * stride + 5);
                    float[] weights = TestData.floats(random, length + 2);
                    float[] start = TestData.floats(random, headSize + 4);
                    float[] expected = start.clone();
                    for (int t = 0; t < length; t++) {
                        for (int i = 0; i < headSize; i++) {
                            expected[4 + i] += weights[2 + t] * values[5 + t * stride + i];
                        }
                    }
                    float[] onHeap = start.clone();
                    Attention.attentionValues(weights, 2, values, 5, stride, headSize, length, onHeap, 4);
                    assertArrayEquals(expected, onHeap, "on heap, head " + headSize + ", length " + length);
                    MemorySegment segment = TestData.tensor(GgmlType.F32, values, arena).segment();
                    float[] offHeap = start.clone();
                    Attention.attentionValues(weights, 2, segment, 5, stride, headSize, length, offHeap, 4);
                    assertArrayEquals(expected, offHeap, "off heap, head " + headSize + ", length " + length);
                }
            }
        }
    }

    /**
     * The attention softmax against run.c's (scalar {@code expf}, sum in order): its exponentials are within 2 ulp,
     * so each weight is within a few ulps of run.c's; and its bits do not change once the JIT compiles it.
     */
    @Test
    void softmax_agreesWithRunCAndIsTheSameInterpretedAndCompiled() {
        Random random = new Random(5);
        for (int n : new int[] {1, 2, 15, 16, 17, 31, 64, 100, 1001}) {
            float[] x = TestData.floats(random, n + 2);
            for (int i = 0; i < x.length; i++) {
                x[i] *= 20;
            }
            float[] expected = Arrays.copyOfRange(x, 2, x.length);
            ScalarKernels.softmax(expected, n);
            float[] first = null;
            for (int rep = 0; rep < 300; rep++) {
                float[] y = x.clone();
                Attention.softmax(y, 2, n);
                float[] got = Arrays.copyOfRange(y, 2, y.length);
                if (first == null) {
                    first = got;
                    for (int i = 0; i < n; i++) {
                        assertEquals(expected[i], got[i], 8 * Math.ulp(expected[i]) + 1e-30f, "n=" + n + " i=" + i);
                    }
                } else {
                    assertArrayEquals(first, got, "n=" + n + " rep " + rep);
                }
            }
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
                    Attention.attention(q, 0, keys, values, kvOffset, kvDim, headSize, length, scores, out, 1);
                    assertClose(expected, Arrays.copyOfRange(out, 1, out.length), 1e-5, "heap " + length);

                    float[] outOff = new float[headSize];
                    Attention.attention(q, 0, keySegment, valueSegment, kvOffset, kvDim, headSize, length, scores,
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
                    () -> Attention.attentionScores(new float[8], 0, keys, 0, 8, 8, 11, scores, 0));
        }
    }

    private static void assertClose(float[] expected, float[] actual, double tolerance, String message) {
        assertEquals(expected.length, actual.length, message);
        for (int i = 0; i < expected.length; i++) {
            assertEquals(expected[i], actual[i], tolerance, message + " at " + i);
        }
    }
}
