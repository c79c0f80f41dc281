package dev.ultrakv.tensor;

import static dev.ultrakv.tensor.VectorOps.axpy;
import static dev.ultrakv.tensor.VectorOps.dot;
import static dev.ultrakv.tensor.VectorOps.softmax;
import static dev.ultrakv.tensor.WeightKernels.F;
import static dev.ultrakv.tensor.WeightKernels.F32_LE;
import static dev.ultrakv.tensor.WeightKernels.L;
import static dev.ultrakv.tensor.WeightKernels.LE;
import static dev.ultrakv.tensor.WeightKernels.dotF32;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;

import jdk.incubator.vector.FloatVector;

/**
 * Attention of one query head over keys and values on heap or off heap (float32, little-endian): the scaled
 * scores, summed in the canonical order, and the weighted sum of the values, in run.c's order (see the notes of
 * {@link WeightKernels}).
 *
 * <p>Arrays are addressed by explicit offsets so that callers can work inside larger buffers without copying.
 * Methods are stateless and thread-safe.
 */
public final class Attention {

    private Attention() {
    }

    /**
     * Attention of one query head over positions {@code [0, length)}: {@code scores[t] = q·k_t / sqrt(headSize)},
     * softmax over the scores, then {@code out = Σ_t scores[t]·v_t}.
     *
     * <p>Key and value {@code t} start at {@code kvOffset + t * stride} in {@code keys} and {@code values}: for a
     * dense per-layer store of {@code positions x kvDim} floats, {@code kvOffset = kvHead * headSize} and
     * {@code stride = kvDim}.
     *
     * @param scores at least {@code length} floats; receives the attention weights
     * @param out    receives {@code headSize} floats at {@code outOffset}
     */
    public static void attention(float[] q, int qOffset, float[] keys, float[] values, int kvOffset, int stride,
                                 int headSize, int length, float[] scores, float[] out, int outOffset) {
        attentionScores(q, qOffset, keys, kvOffset, stride, headSize, length, scores, 0);
        softmax(scores, 0, length);
        Arrays.fill(out, outOffset, outOffset + headSize, 0f);
        attentionValues(scores, 0, values, kvOffset, stride, headSize, length, out, outOffset);
    }

    /**
     * {@link #attention(float[], int, float[], float[], int, int, int, int, float[], float[], int) Attention}
     * over float32 keys and values off heap (little-endian). Offsets and strides count floats, not bytes.
     */
    public static void attention(float[] q, int qOffset, MemorySegment keys, MemorySegment values, long kvOffset,
                                 int stride, int headSize, int length, float[] scores, float[] out, int outOffset) {
        attentionScores(q, qOffset, keys, kvOffset, stride, headSize, length, scores, 0);
        softmax(scores, 0, length);
        Arrays.fill(out, outOffset, outOffset + headSize, 0f);
        attentionValues(scores, 0, values, kvOffset, stride, headSize, length, out, outOffset);
    }

    /**
     * The scaled scores of one query head against {@code length} keys:
     * {@code scores[scoresOffset + t] = q·k_t / sqrt(headSize)}, key {@code t} at {@code keyOffset + t * stride}.
     * A paged cache calls this once per block with the block's offset in {@code scores}.
     */
    public static void attentionScores(float[] q, int qOffset, float[] keys, int keyOffset, int stride,
                                       int headSize, int length, float[] scores, int scoresOffset) {
        Objects.checkFromIndexSize(scoresOffset, length, scores.length);
        float scale = (float) Math.sqrt(headSize);
        for (int t = 0; t < length; t++) {
            scores[scoresOffset + t] = dot(q, qOffset, keys, keyOffset + t * stride, headSize) / scale;
        }
    }

    /**
     * {@link #attentionScores(float[], int, float[], int, int, int, int, float[], int) Scores} against float32
     * keys off heap (little-endian); {@code keyOffset} and {@code stride} count floats.
     */
    public static void attentionScores(float[] q, int qOffset, MemorySegment keys, long keyOffset, int stride,
                                       int headSize, int length, float[] scores, int scoresOffset) {
        Objects.checkFromIndexSize(scoresOffset, length, scores.length);
        Objects.checkFromIndexSize(qOffset, headSize, q.length);
        if (length > 0) {
            Objects.checkFromIndexSize(keyOffset, (long) (length - 1) * stride + headSize,
                    keys.byteSize() / Float.BYTES);
        }
        float scale = (float) Math.sqrt(headSize);
        for (int t = 0; t < length; t++) {
            long byteOffset = (keyOffset + (long) t * stride) * Float.BYTES;
            scores[scoresOffset + t] = dotF32(keys, byteOffset, q, qOffset, headSize) / scale;
        }
    }

    /**
     * Adds the weighted values of one head to {@code out}: {@code out[outOffset + i] += Σ_t weights[t]·v_t[i]},
     * value {@code t} at {@code valueOffset + t * stride}, in run.c's order (position by position, product
     * rounded before the sum). Accumulating lets a paged cache call it once per block.
     */
    public static void attentionValues(float[] weights, int weightsOffset, float[] values, int valueOffset,
                                       int stride, int headSize, int length, float[] out, int outOffset) {
        Objects.checkFromIndexSize(weightsOffset, length, weights.length);
        for (int t = 0; t < length; t++) {
            axpy(weights[weightsOffset + t], values, valueOffset + t * stride, out, outOffset, headSize);
        }
    }

    /**
     * {@link #attentionValues(float[], int, float[], int, int, int, int, float[], int) Weighted values} from
     * float32 values off heap (little-endian); {@code valueOffset} and {@code stride} count floats.
     */
    public static void attentionValues(float[] weights, int weightsOffset, MemorySegment values, long valueOffset,
                                       int stride, int headSize, int length, float[] out, int outOffset) {
        Objects.checkFromIndexSize(weightsOffset, length, weights.length);
        Objects.checkFromIndexSize(outOffset, headSize, out.length);
        if (length > 0) {
            Objects.checkFromIndexSize(valueOffset, (long) (length - 1) * stride + headSize,
                    values.byteSize() / Float.BYTES);
        }
        int bound = F.loopBound(headSize);
        for (int t = 0; t < length; t++) {
            float a = weights[weightsOffset + t];
            FloatVector va = FloatVector.broadcast(F, a);
            long base = (valueOffset + (long) t * stride) * Float.BYTES;
            int i = 0;
            for (; i < bound; i += L) {
                FloatVector.fromMemorySegment(F, values, base + (long) i * Float.BYTES, LE).mul(va)
                        .add(FloatVector.fromArray(F, out, outOffset + i)).intoArray(out, outOffset + i);
            }
            for (; i < headSize; i++) {
                out[outOffset + i] += a * values.get(F32_LE, base + (long) i * Float.BYTES);
            }
        }
    }
}
