package dev.ultrakv.model;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.FloatBuffer;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * A test oracle: llama2.c's run.c transcribed into plain scalar Java, line for line, reading the checkpoint with
 * its own code. It shares nothing with the engine (no kernels, no loader, no KV interface), so agreement
 * between the two is evidence that the engine computes what the reference program computes.
 */
final class ReferenceLlama {
    final int dim;
    final int hiddenDim;
    final int layers;
    final int heads;
    final int kvHeads;
    final int vocab;
    final int seqLen;
    private final float[] tokenEmbedding;
    private final float[] rmsAtt;
    private final float[] wq;
    private final float[] wk;
    private final float[] wv;
    private final float[] wo;
    private final float[] rmsFfn;
    private final float[] w1;
    private final float[] w2;
    private final float[] w3;
    private final float[] rmsFinal;
    private final float[] wcls;
    // run state
    private final float[] x;
    private final float[] xb;
    private final float[] xb2;
    private final float[] hb;
    private final float[] hb2;
    private final float[] q;
    private final float[] att;
    private final float[] logits;
    private final float[] keyCache;
    private final float[] valueCache;

    ReferenceLlama(Path checkpoint) throws IOException {
        ByteBuffer bytes = ByteBuffer.wrap(Files.readAllBytes(checkpoint)).order(ByteOrder.LITTLE_ENDIAN);
        dim = bytes.getInt();
        hiddenDim = bytes.getInt();
        layers = bytes.getInt();
        heads = bytes.getInt();
        kvHeads = bytes.getInt();
        int signedVocab = bytes.getInt();
        seqLen = bytes.getInt();
        vocab = Math.abs(signedVocab);
        FloatBuffer f = bytes.asFloatBuffer();
        int headSize = dim / heads;
        int kvDim = dim * kvHeads / heads;
        tokenEmbedding = take(f, vocab * dim);
        rmsAtt = take(f, layers * dim);
        wq = take(f, layers * dim * dim);
        wk = take(f, layers * kvDim * dim);
        wv = take(f, layers * kvDim * dim);
        wo = take(f, layers * dim * dim);
        rmsFfn = take(f, layers * dim);
        w1 = take(f, layers * hiddenDim * dim);
        w2 = take(f, layers * dim * hiddenDim);
        w3 = take(f, layers * hiddenDim * dim);
        rmsFinal = take(f, dim);
        take(f, seqLen * headSize / 2);
        take(f, seqLen * headSize / 2);
        wcls = signedVocab > 0 ? tokenEmbedding : take(f, vocab * dim);
        x = new float[dim];
        xb = new float[dim];
        xb2 = new float[dim];
        hb = new float[hiddenDim];
        hb2 = new float[hiddenDim];
        q = new float[dim];
        att = new float[heads * seqLen];
        logits = new float[vocab];
        keyCache = new float[layers * seqLen * kvDim];
        valueCache = new float[layers * seqLen * kvDim];
    }

    private static float[] take(FloatBuffer f, int n) {
        float[] a = new float[n];
        f.get(a);
        return a;
    }

    private static void rmsnorm(float[] o, float[] x, float[] weight, int wOff, int size) {
        float ss = 0.0f;
        for (int j = 0; j < size; j++) {
            ss += x[j] * x[j];
        }
        ss /= size;
        ss += 1e-5f;
        ss = 1.0f / (float) Math.sqrt(ss);
        for (int j = 0; j < size; j++) {
            o[j] = weight[wOff + j] * (ss * x[j]);
        }
    }

    private static void softmax(float[] x, int off, int size) {
        float max = x[off];
        for (int i = 1; i < size; i++) {
            if (x[off + i] > max) {
                max = x[off + i];
            }
        }
        float sum = 0.0f;
        for (int i = 0; i < size; i++) {
            x[off + i] = (float) Math.exp(x[off + i] - max);
            sum += x[off + i];
        }
        for (int i = 0; i < size; i++) {
            x[off + i] /= sum;
        }
    }

    private static void matmul(float[] xout, float[] x, float[] w, int wOff, int n, int d) {
        for (int i = 0; i < d; i++) {
            float val = 0.0f;
            for (int j = 0; j < n; j++) {
                val += w[wOff + i * n + j] * x[j];
            }
            xout[i] = val;
        }
    }

    /** run.c's forward(): the logits after {@code token} at {@code pos}. */
    float[] forward(int token, int pos) {
        int kvDim = dim * kvHeads / heads;
        int kvMul = heads / kvHeads;
        int headSize = dim / heads;
        System.arraycopy(tokenEmbedding, token * dim, x, 0, dim);
        for (int l = 0; l < layers; l++) {
            rmsnorm(xb, x, rmsAtt, l * dim, dim);
            int loff = l * seqLen * kvDim;
            float[] k = new float[kvDim];
            float[] v = new float[kvDim];
            matmul(q, xb, wq, l * dim * dim, dim, dim);
            matmul(k, xb, wk, l * dim * kvDim, dim, kvDim);
            matmul(v, xb, wv, l * dim * kvDim, dim, kvDim);
            for (int i = 0; i < dim; i += 2) {
                int headDim = i % headSize;
                float freq = 1.0f / (float) Math.pow(10000.0f, headDim / (float) headSize);
                float val = pos * freq;
                float fcr = (float) Math.cos(val);
                float fci = (float) Math.sin(val);
                int rotn = i < kvDim ? 2 : 1;
                for (int vi = 0; vi < rotn; vi++) {
                    float[] vec = vi == 0 ? q : k;
                    float v0 = vec[i];
                    float v1 = vec[i + 1];
                    vec[i] = v0 * fcr - v1 * fci;
                    vec[i + 1] = v0 * fci + v1 * fcr;
                }
            }
            System.arraycopy(k, 0, keyCache, loff + pos * kvDim, kvDim);
            System.arraycopy(v, 0, valueCache, loff + pos * kvDim, kvDim);
            for (int h = 0; h < heads; h++) {
                int qOff = h * headSize;
                int attOff = h * seqLen;
                for (int t = 0; t <= pos; t++) {
                    int kOff = loff + t * kvDim + (h / kvMul) * headSize;
                    float score = 0.0f;
                    for (int i = 0; i < headSize; i++) {
                        score += q[qOff + i] * keyCache[kOff + i];
                    }
                    score /= (float) Math.sqrt(headSize);
                    att[attOff + t] = score;
                }
                softmax(att, attOff, pos + 1);
                for (int i = 0; i < headSize; i++) {
                    xb[qOff + i] = 0.0f;
                }
                for (int t = 0; t <= pos; t++) {
                    int vOff = loff + t * kvDim + (h / kvMul) * headSize;
                    float a = att[attOff + t];
                    for (int i = 0; i < headSize; i++) {
                        xb[qOff + i] += a * valueCache[vOff + i];
                    }
                }
            }
            matmul(xb2, xb, wo, l * dim * dim, dim, dim);
            for (int i = 0; i < dim; i++) {
                x[i] += xb2[i];
            }
            rmsnorm(xb, x, rmsFfn, l * dim, dim);
            matmul(hb, xb, w1, l * dim * hiddenDim, dim, hiddenDim);
            matmul(hb2, xb, w3, l * dim * hiddenDim, dim, hiddenDim);
            for (int i = 0; i < hiddenDim; i++) {
                float val = hb[i];
                val *= (1.0f / (1.0f + (float) Math.exp(-val)));
                val *= hb2[i];
                hb[i] = val;
            }
            matmul(xb, hb, w2, l * dim * hiddenDim, hiddenDim, dim);
            for (int i = 0; i < dim; i++) {
                x[i] += xb[i];
            }
        }
        rmsnorm(x, x, rmsFinal, 0, dim);
        matmul(logits, x, wcls, 0, dim, vocab);
        return logits;
    }

    /** run.c's generate() loop with greedy sampling: the tokens after the prompt (stop token excluded). */
    int[] generateGreedy(int[] promptTokens, int steps) {
        int[] out = new int[steps];
        int n = 0;
        int token = promptTokens[0];
        int pos = 0;
        int limit = Math.min(steps, seqLen);
        while (pos < limit) {
            float[] l = forward(token, pos);
            int next;
            if (pos < promptTokens.length - 1) {
                next = promptTokens[pos + 1];
            } else {
                next = 0;
                for (int i = 1; i < vocab; i++) {
                    if (l[i] > l[next]) {
                        next = i;
                    }
                }
            }
            pos++;
            if (next == 1) {
                break;
            }
            if (pos >= promptTokens.length) {
                out[n++] = next;
            }
            token = next;
        }
        return java.util.Arrays.copyOf(out, n);
    }
}
