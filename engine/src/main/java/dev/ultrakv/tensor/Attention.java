package dev.ultrakv.tensor;

import static dev.ultrakv.tensor.VectorOps.dot;
import static dev.ultrakv.tensor.WeightKernels.F;
import static dev.ultrakv.tensor.WeightKernels.F32_LE;
import static dev.ultrakv.tensor.WeightKernels.L;
import static dev.ultrakv.tensor.WeightKernels.LE;
import static dev.ultrakv.tensor.WeightKernels.dotF32;

import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.Objects;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;

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

    /** Below this, e^x is under the smallest normal float: {@link #expNonPositive} gives 0. */
    static final float EXP_UNDERFLOW = -87.33654f;
    private static final float LOG2E = 1.44269504088896341f;
    /** ln 2 in two parts (Cody and Waite), so that {@code x - n·ln 2} loses no bits for the n at hand. */
    private static final float LN2_HIGH = 0.693359375f;
    private static final float LN2_LOW = -2.12194440e-4f;
    /** Cephes' minimax polynomial for e^r - 1 - r over r² on |r| <= ln 2 / 2 (published constants). */
    private static final float P0 = 1.9875691500e-4f;
    private static final float P1 = 1.3981999507e-3f;
    private static final float P2 = 8.3334519073e-3f;
    private static final float P3 = 4.1665795894e-2f;
    private static final float P4 = 1.6666665459e-1f;
    private static final float P5 = 5.0000001201e-1f;

    /**
     * The softmax of attention scores, in place: {@code x[i] = e^(x[i] - max) / Σ e^(x[j] - max)}, the
     * exponentials by {@link #expNonPositive} a vector at a time, their sum added in position order as run.c adds
     * it. The per-position scalar {@code Math.exp} was a quarter of a 2048-token prefill.
     */
    public static void softmax(float[] x, int offset, int size) {
        Objects.checkFromIndexSize(offset, size, x.length);
        if (size == 0) {
            return;
        }
        float max = x[offset];
        for (int i = 1; i < size; i++) {
            if (x[offset + i] > max) {
                max = x[offset + i];
            }
        }
        FloatVector vmax = FloatVector.broadcast(F, max);
        int i = 0;
        for (int bound = F.loopBound(size); i < bound; i += L) {
            expNonPositive(FloatVector.fromArray(F, x, offset + i).sub(vmax)).intoArray(x, offset + i);
        }
        if (i < size) {
            VectorMask<Float> tail = F.indexInRange(i, size);
            expNonPositive(FloatVector.fromArray(F, x, offset + i, tail).sub(vmax)).intoArray(x, offset + i, tail);
        }
        float sum = 0f;
        for (int j = 0; j < size; j++) {
            sum += x[offset + j];
        }
        FloatVector vs = FloatVector.broadcast(F, sum);
        i = 0;
        for (int bound = F.loopBound(size); i < bound; i += L) {
            FloatVector.fromArray(F, x, offset + i).div(vs).intoArray(x, offset + i);
        }
        for (; i < size; i++) {
            x[offset + i] /= sum;
        }
    }

    /**
     * e^x for lanes {@code x <= 0} (scores minus their maximum), within 2 ulp of {@link Math#exp} (measured over
     * [-87, 0] by {@code AttentionTest}); 0 below {@link #EXP_UNDERFLOW}, NaN for NaN. Range reduction
     * {@code x = n·ln 2 + r}, Cephes' degree-5 polynomial for e^r, and 2^n put into the exponent bits. Only IEEE
     * additions, multiplications and conversions: the same bits interpreted or compiled, on any batch.
     */
    static FloatVector expNonPositive(FloatVector x) {
        VectorMask<Float> underflow = x.compare(VectorOperators.LT, EXP_UNDERFLOW);
        FloatVector clamped = x.max(EXP_UNDERFLOW);
        // n = round(x·log2 e), as ceil(v - 0.5) by truncation towards zero (v <= 0).
        IntVector n = (IntVector) clamped.mul(LOG2E).sub(0.5f).convertShape(VectorOperators.F2I, WeightKernels.I, 0);
        FloatVector fn = (FloatVector) n.convertShape(VectorOperators.I2F, F, 0);
        FloatVector r = clamped.sub(fn.mul(LN2_HIGH)).sub(fn.mul(LN2_LOW));
        FloatVector r2 = r.mul(r);
        FloatVector p = r.mul(P0).add(P1).mul(r).add(P2).mul(r).add(P3).mul(r).add(P4).mul(r).add(P5);
        FloatVector e = p.mul(r2).add(r).add(1f);
        FloatVector twoToN = n.add(127).lanewise(VectorOperators.LSHL, 23).reinterpretAsFloats();
        return e.mul(twoToN).blend(0f, underflow);
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
        attention(q, qOffset, keys, values, kvOffset, stride, headSize, length, 0f, scores, out, outOffset);
    }

    /**
     * {@link #attention(float[], int, float[], float[], int, int, int, int, float[], float[], int) Attention} whose
     * scores {@code s} become {@code softCap·tanh(s / softCap)} before the softmax ({@link VectorOps#softCap},
     * Gemma 2); a {@code softCap} of 0 caps nothing.
     */
    public static void attention(float[] q, int qOffset, float[] keys, float[] values, int kvOffset, int stride,
                                 int headSize, int length, float softCap, float[] scores, float[] out,
                                 int outOffset) {
        attentionScores(q, qOffset, keys, kvOffset, stride, headSize, length, scores, 0);
        if (softCap != 0f) {
            VectorOps.softCap(scores, 0, length, softCap);
        }
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
     *
     * <p>Four vectors of the head at a time stay in registers over all positions, instead of {@code out} being
     * loaded and stored again for each position: each element still takes the same products in the same order,
     * bit for bit, without a store-to-load chain per position (which made this a third of a 2048-token prefill).
     */
    public static void attentionValues(float[] weights, int weightsOffset, float[] values, int valueOffset,
                                       int stride, int headSize, int length, float[] out, int outOffset) {
        Objects.checkFromIndexSize(weightsOffset, length, weights.length);
        Objects.checkFromIndexSize(outOffset, headSize, out.length);
        if (length == 0) {
            return;
        }
        Objects.checkFromIndexSize(valueOffset, (long) (length - 1) * stride + headSize, values.length);
        int bound = F.loopBound(headSize);
        int i = 0;
        for (; i + 4 * L <= bound; i += 4 * L) {
            int o = outOffset + i;
            FloatVector o0 = FloatVector.fromArray(F, out, o);
            FloatVector o1 = FloatVector.fromArray(F, out, o + L);
            FloatVector o2 = FloatVector.fromArray(F, out, o + 2 * L);
            FloatVector o3 = FloatVector.fromArray(F, out, o + 3 * L);
            for (int t = 0; t < length; t++) {
                FloatVector a = FloatVector.broadcast(F, weights[weightsOffset + t]);
                int v = valueOffset + t * stride + i;
                o0 = FloatVector.fromArray(F, values, v).mul(a).add(o0);
                o1 = FloatVector.fromArray(F, values, v + L).mul(a).add(o1);
                o2 = FloatVector.fromArray(F, values, v + 2 * L).mul(a).add(o2);
                o3 = FloatVector.fromArray(F, values, v + 3 * L).mul(a).add(o3);
            }
            o0.intoArray(out, o);
            o1.intoArray(out, o + L);
            o2.intoArray(out, o + 2 * L);
            o3.intoArray(out, o + 3 * L);
        }
        for (; i < bound; i += L) {
            FloatVector o0 = FloatVector.fromArray(F, out, outOffset + i);
            for (int t = 0; t < length; t++) {
                FloatVector a = FloatVector.broadcast(F, weights[weightsOffset + t]);
                o0 = FloatVector.fromArray(F, values, valueOffset + t * stride + i).mul(a).add(o0);
            }
            o0.intoArray(out, outOffset + i);
        }
        for (; i < headSize; i++) {
            float o0 = out[outOffset + i];
            for (int t = 0; t < length; t++) {
                o0 += weights[weightsOffset + t] * values[valueOffset + t * stride + i];
            }
            out[outOffset + i] = o0;
        }
    }

    /**
     * {@link #attentionValues(float[], int, float[], int, int, int, int, float[], int) Weighted values} from
     * float32 values off heap (little-endian); {@code valueOffset} and {@code stride} count floats. The same
     * arithmetic, element for element.
     */
    public static void attentionValues(float[] weights, int weightsOffset, MemorySegment values, long valueOffset,
                                       int stride, int headSize, int length, float[] out, int outOffset) {
        Objects.checkFromIndexSize(weightsOffset, length, weights.length);
        Objects.checkFromIndexSize(outOffset, headSize, out.length);
        if (length == 0) {
            return;
        }
        Objects.checkFromIndexSize(valueOffset, (long) (length - 1) * stride + headSize,
                values.byteSize() / Float.BYTES);
        int bound = F.loopBound(headSize);
        long strideBytes = (long) stride * Float.BYTES;
        int i = 0;
        for (; i + 4 * L <= bound; i += 4 * L) {
            int o = outOffset + i;
            FloatVector o0 = FloatVector.fromArray(F, out, o);
            FloatVector o1 = FloatVector.fromArray(F, out, o + L);
            FloatVector o2 = FloatVector.fromArray(F, out, o + 2 * L);
            FloatVector o3 = FloatVector.fromArray(F, out, o + 3 * L);
            long v = (valueOffset + i) * Float.BYTES;
            for (int t = 0; t < length; t++, v += strideBytes) {
                FloatVector a = FloatVector.broadcast(F, weights[weightsOffset + t]);
                o0 = FloatVector.fromMemorySegment(F, values, v, LE).mul(a).add(o0);
                o1 = FloatVector.fromMemorySegment(F, values, v + (long) L * Float.BYTES, LE).mul(a).add(o1);
                o2 = FloatVector.fromMemorySegment(F, values, v + 2L * L * Float.BYTES, LE).mul(a).add(o2);
                o3 = FloatVector.fromMemorySegment(F, values, v + 3L * L * Float.BYTES, LE).mul(a).add(o3);
            }
            o0.intoArray(out, o);
            o1.intoArray(out, o + L);
            o2.intoArray(out, o + 2 * L);
            o3.intoArray(out, o + 3 * L);
        }
        for (; i < bound; i += L) {
            FloatVector o0 = FloatVector.fromArray(F, out, outOffset + i);
            long v = (valueOffset + i) * Float.BYTES;
            for (int t = 0; t < length; t++, v += strideBytes) {
                FloatVector a = FloatVector.broadcast(F, weights[weightsOffset + t]);
                o0 = FloatVector.fromMemorySegment(F, values, v, LE).mul(a).add(o0);
            }
            o0.intoArray(out, outOffset + i);
        }
        for (; i < headSize; i++) {
            float o0 = out[outOffset + i];
            long v = (valueOffset + i) * Float.BYTES;
            for (int t = 0; t < length; t++, v += strideBytes) {
                o0 += weights[weightsOffset + t] * values.get(F32_LE, v);
            }
            out[outOffset + i] = o0;
        }
    }
}
