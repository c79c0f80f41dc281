package dev.ultrakv.tensor;

import static dev.ultrakv.tensor.WeightKernels.F;
import static dev.ultrakv.tensor.WeightKernels.L;
import static dev.ultrakv.tensor.WeightKernels.sumLanes;
import static dev.ultrakv.tensor.WeightKernels.tailMask;

import java.util.Objects;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;

/**
 * Vector operations on float arrays: the dot product, normalisation, rotary embedding and the elementwise
 * operations of the forward pass (the attention's softmax is {@link Attention#softmax}). All but {@link #dot} repeat run.c's float arithmetic in its order
 * and give its bits; {@link #dot} adds in the canonical order (see the notes of {@link WeightKernels}).
 *
 * <p>Arrays are addressed by explicit offsets so that callers can work inside larger buffers without copying.
 * Methods are stateless and thread-safe.
 */
public final class VectorOps {

    private VectorOps() {
    }

    /** Σ a[aOffset + i]·b[bOffset + i] for {@code i < n}, in the canonical order. */
    public static float dot(float[] a, int aOffset, float[] b, int bOffset, int n) {
        Objects.checkFromIndexSize(aOffset, n, a.length);
        Objects.checkFromIndexSize(bOffset, n, b.length);
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            acc = FloatVector.fromArray(F, a, aOffset + i).fma(FloatVector.fromArray(F, b, bOffset + i), acc);
        }
        if (i < n) {
            VectorMask<Float> m = tailMask(n - i);
            acc = FloatVector.fromArray(F, a, aOffset + i, m).fma(FloatVector.fromArray(F, b, bOffset + i, m), acc);
        }
        return sumLanes(acc);
    }

    /**
     * {@code y[yOffset + i] += a · x[xOffset + i]} for {@code i < n}, rounding the product before the sum (no
     * fused multiply-add) as run.c's attention value sum does.
     */
    public static void axpy(float a, float[] x, int xOffset, float[] y, int yOffset, int n) {
        Objects.checkFromIndexSize(xOffset, n, x.length);
        Objects.checkFromIndexSize(yOffset, n, y.length);
        FloatVector va = FloatVector.broadcast(F, a);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            FloatVector.fromArray(F, x, xOffset + i).mul(va).add(FloatVector.fromArray(F, y, yOffset + i))
                    .intoArray(y, yOffset + i);
        }
        for (; i < n; i++) {
            y[yOffset + i] += a * x[xOffset + i];
        }
    }

    /** {@code y[i] += x[i]} for {@code i < n} (the residual connection). */
    public static void add(float[] y, float[] x, int n) {
        Objects.checkFromIndexSize(0, n, y.length);
        Objects.checkFromIndexSize(0, n, x.length);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            FloatVector.fromArray(F, y, i).add(FloatVector.fromArray(F, x, i)).intoArray(y, i);
        }
        for (; i < n; i++) {
            y[i] += x[i];
        }
    }

    /**
     * RMS normalisation: {@code out[j] = weight[j] · (x[j] / sqrt(mean(x²) + eps))}, computed as run.c does: the
     * sum of squares in index order, {@code ss = 1 / sqrt(ss / size + eps)}, then {@code weight[j] * (ss * x[j])}.
     * {@code out} may be {@code x} with the same offset.
     *
     * @param weight {@code size} floats from index 0
     */
    public static void rmsnorm(float[] out, int outOffset, float[] x, int xOffset, float[] weight, int size,
                               float eps) {
        Objects.checkFromIndexSize(outOffset, size, out.length);
        Objects.checkFromIndexSize(xOffset, size, x.length);
        Objects.checkFromIndexSize(0, size, weight.length);
        // In index order like run.c (a vectorised sum would round differently); size is at most a few thousand.
        float ss = 0f;
        for (int j = 0; j < size; j++) {
            ss += x[xOffset + j] * x[xOffset + j];
        }
        ss /= size;
        ss += eps;
        ss = 1.0f / (float) Math.sqrt(ss);
        FloatVector vs = FloatVector.broadcast(F, ss);
        int j = 0;
        for (int bound = F.loopBound(size); j < bound; j += L) {
            FloatVector.fromArray(F, weight, j).mul(vs.mul(FloatVector.fromArray(F, x, xOffset + j)))
                    .intoArray(out, outOffset + j);
        }
        for (; j < size; j++) {
            out[outOffset + j] = weight[j] * (ss * x[xOffset + j]);
        }
    }

    /**
     * Rotary position embedding of {@code headCount} heads of {@code headSize} floats from {@code offset}: each
     * adjacent pair {@code (i, i + 1)} of a head ({@code i} even) turns by {@code position · freq}, where
     * {@code freq = 1 / theta^(i / headSize)}, with run.c's float arithmetic ({@code powf}, {@code cosf},
     * {@code sinf} of a float angle). The angles are the same for every head, so they are computed once per call.
     */
    public static void rope(float[] x, int offset, int headCount, int headSize, int position, float theta) {
        if (headSize % 2 != 0) {
            throw new IllegalArgumentException("RoPE rotates pairs; headSize " + headSize + " is odd");
        }
        Objects.checkFromIndexSize(offset, (long) headCount * headSize, x.length);
        int pairs = headSize / 2;
        float[] cos = new float[pairs];
        float[] sin = new float[pairs];
        for (int p = 0; p < pairs; p++) {
            float freq = 1.0f / (float) Math.pow(theta, (2 * p) / (float) headSize);
            float val = position * freq;
            cos[p] = (float) Math.cos(val);
            sin[p] = (float) Math.sin(val);
        }
        for (int h = 0; h < headCount; h++) {
            int base = offset + h * headSize;
            for (int p = 0; p < pairs; p++) {
                int i = base + 2 * p;
                float v0 = x[i];
                float v1 = x[i + 1];
                x[i] = v0 * cos[p] - v1 * sin[p];
                x[i + 1] = v0 * sin[p] + v1 * cos[p];
            }
        }
    }

    /**
     * SwiGLU in place: {@code gate[i] = silu(gate[i]) · up[i]} with {@code silu(v) = v / (1 + e^-v)}, in run.c's
     * float order ({@code v *= 1 / (1 + expf(-v)); v *= up}).
     */
    public static void swiglu(float[] gate, float[] up, int n) {
        swiglu(gate, up, 0, n);
    }

    /** {@link #swiglu(float[], float[], int) SwiGLU} of elements {@code [offset, offset + n)} of both arrays. */
    public static void swiglu(float[] gate, float[] up, int offset, int n) {
        Objects.checkFromIndexSize(offset, n, gate.length);
        Objects.checkFromIndexSize(offset, n, up.length);
        for (int i = offset; i < offset + n; i++) {
            float v = gate[i];
            v *= (1.0f / (1.0f + (float) Math.exp(-v)));
            v *= up[i];
            gate[i] = v;
        }
    }

    /** √(2/π), GELU's tanh approximation's scale. */
    private static final float SQRT_2_OVER_PI = 0.79788456080286535587989211986876f;
    /** The cubic term's coefficient of GELU's tanh approximation. */
    private static final float GELU_COEF_A = 0.044715f;

    /**
     * Gated GELU (GeGLU, Gemma's feed-forward): {@code gate[i] = gelu(gate[i]) * up[i]} over {@code [offset,
     * offset + n)}, with GELU's tanh approximation {@code 0.5·x·(1 + tanh(√(2/π)·x·(1 + 0.044715·x²)))} (ggml's
     * formula; Hugging Face's {@code gelu_pytorch_tanh}). {@link StrictMath#tanh} gives the same bits interpreted
     * or compiled, so a row's result never depends on its batch.
     */
    public static void geglu(float[] gate, float[] up, int offset, int n) {
        Objects.checkFromIndexSize(offset, n, gate.length);
        Objects.checkFromIndexSize(offset, n, up.length);
        for (int i = offset; i < offset + n; i++) {
            float x = gate[i];
            float t = (float) StrictMath.tanh(SQRT_2_OVER_PI * x * (1.0f + GELU_COEF_A * x * x));
            gate[i] = 0.5f * x * (1.0f + t) * up[i];
        }
    }

    /**
     * Soft-capping in place (Gemma 2's attention scores and logits): {@code x[i] = cap·tanh(x[i] / cap)} over
     * {@code [offset, offset + n)}, which bounds values to (-cap, cap) and keeps small ones almost unchanged. As
     * ggml computes it: divide, tanh, multiply, in float; {@link StrictMath#tanh} for batch-independent bits.
     */
    public static void softCap(float[] x, int offset, int n, float cap) {
        Objects.checkFromIndexSize(offset, n, x.length);
        float inverse = 1.0f / cap;
        for (int i = offset; i < offset + n; i++) {
            x[i] = (float) StrictMath.tanh(x[i] * inverse) * cap;
        }
    }

    /** {@code x[offset, offset + n) *= a}. */
    public static void scale(float[] x, int offset, int n, float a) {
        Objects.checkFromIndexSize(offset, n, x.length);
        for (int i = offset; i < offset + n; i++) {
            x[i] *= a;
        }
    }
}
