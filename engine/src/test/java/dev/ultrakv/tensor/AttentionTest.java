package dev.ultrakv.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

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
