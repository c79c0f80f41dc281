package dev.ultrakv.model;

import dev.ultrakv.model.gguf.GgufFile;
import dev.ultrakv.model.gguf.GgufTensorInfo;
import dev.ultrakv.tensor.GgmlType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.ArrayList;
import java.util.List;

/**
 * A test oracle for the Llama-like families of an F32 GGUF file, written plainly from the architectures'
 * definitions in double precision: RMSNorm, the Q/K/V projections (Qwen 2's biases; Phi-3's fused matrices split
 * by rows), Qwen 3's RMSNorm of each query and key head, RoPE of adjacent pairs (Llama) or halves (the others)
 * with Llama 3.1's frequency factors, causal softmax attention over the last {@code sliding_window} positions,
 * a SwiGLU feed-forward and the classifier (the embedding when there is no {@code output.weight}). It reads the
 * file's keys and tensors with its own code and shares nothing with the engine: no kernels, loader or KV store.
 */
final class ReferenceTransformer {
    private final GgufFile g;
    private final String arch;
    private final int dim;
    private final int layers;
    private final int heads;
    private final int kvHeads;
    private final int headSize;
    private final int ffn;
    private final int vocab;
    private final double theta;
    private final double eps;
    private final int window;
    private final boolean gemma;
    private final double[] ropeFactors;
    /** (layer) of keys and values of every position so far, each (kvHeads * headSize). */
    private final List<List<double[]>> keys = new ArrayList<>();
    private final List<List<double[]>> values = new ArrayList<>();

    ReferenceTransformer(GgufFile g) {
        this.g = g;
        arch = g.getString("general.architecture");
        dim = g.getInt(arch + ".embedding_length");
        layers = g.getInt(arch + ".block_count");
        heads = g.getInt(arch + ".attention.head_count");
        kvHeads = g.getInt(arch + ".attention.head_count_kv");
        headSize = g.getIntOrDefault(arch + ".attention.key_length", dim / heads);
        ffn = g.getInt(arch + ".feed_forward_length");
        theta = g.getFloat(arch + ".rope.freq_base");
        eps = g.getFloat(arch + ".attention.layer_norm_rms_epsilon");
        window = g.getIntOrDefault(arch + ".attention.sliding_window", Integer.MAX_VALUE);
        gemma = arch.equals("gemma2");
        vocab = (int) g.tensor("token_embd.weight").shape()[1];
        ropeFactors = g.findTensor("rope_freqs.weight").isPresent() ? floats("rope_freqs.weight") : null;
        for (int l = 0; l < layers; l++) {
            keys.add(new ArrayList<>());
            values.add(new ArrayList<>());
        }
    }

    /** The tensor {@code name} as doubles, in file order. */
    private double[] floats(String name) {
        GgufTensorInfo t = g.tensor(name);
        if (t.type() != GgmlType.F32) {
            throw new IllegalArgumentException("the reference reads F32 files; " + name + " is " + t.type());
        }
        MemorySegment data = g.tensorData(t);
        double[] out = new double[(int) t.elementCount()];
        for (int i = 0; i < out.length; i++) {
            out[i] = data.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED, i);
        }
        return out;
    }

    /** W·x for W stored as {@code rows} rows of {@code x.length}, from row {@code firstRow}. */
    private static double[] matvec(double[] w, int firstRow, int rows, double[] x) {
        double[] out = new double[rows];
        for (int r = 0; r < rows; r++) {
            double sum = 0;
            int base = (firstRow + r) * x.length;
            for (int c = 0; c < x.length; c++) {
                sum += w[base + c] * x[c];
            }
            out[r] = sum;
        }
        return out;
    }

    private double[] rmsnorm(double[] x, int from, int size, double[] weight) {
        double ss = 0;
        for (int i = 0; i < size; i++) {
            ss += x[from + i] * x[from + i];
        }
        double scale = 1 / Math.sqrt(ss / size + eps);
        double[] out = new double[size];
        for (int i = 0; i < size; i++) {
            out[i] = weight[i] * x[from + i] * scale;
        }
        return out;
    }

    /** RoPE of every head of {@code x} in place: the pairing is the architecture's. */
    private void rope(double[] x, int headCount, int position) {
        boolean halves = !arch.equals("llama");
        int pairs = headSize / 2;
        for (int h = 0; h < headCount; h++) {
            for (int i = 0; i < pairs; i++) {
                double freq = Math.pow(theta, -2.0 * i / headSize);
                if (ropeFactors != null) {
                    freq /= ropeFactors[i];
                }
                double angle = position * freq;
                int a = h * headSize + (halves ? i : 2 * i);
                int b = halves ? a + pairs : a + 1;
                double x0 = x[a];
                double x1 = x[b];
                x[a] = x0 * Math.cos(angle) - x1 * Math.sin(angle);
                x[b] = x0 * Math.sin(angle) + x1 * Math.cos(angle);
            }
        }
    }

    /** The logits of {@code token} at the next position (the positions so far: 0, 1, ...). */
    double[] next(int token) {
        int position = keys.getFirst().size();
        int qDim = heads * headSize;
        int kvDim = kvHeads * headSize;
        double[] embedding = floats("token_embd.weight");
        double[] x = new double[dim];
        System.arraycopy(embedding, token * dim, x, 0, dim);
        if (gemma) {
            // Gemma 2 scales the embedding by the square root of its width (its "normalizer").
            for (int i = 0; i < dim; i++) {
                x[i] *= Math.sqrt(dim);
            }
        }
        for (int l = 0; l < layers; l++) {
            String p = "blk." + l + ".";
            double[] xn = rmsnorm(x, 0, dim, floats(p + "attn_norm.weight"));
            double[] q;
            double[] k;
            double[] v;
            if (arch.equals("phi3")) {
                double[] qkv = floats(p + "attn_qkv.weight");
                q = matvec(qkv, 0, qDim, xn);
                k = matvec(qkv, qDim, kvDim, xn);
                v = matvec(qkv, qDim + kvDim, kvDim, xn);
            } else {
                q = matvec(floats(p + "attn_q.weight"), 0, qDim, xn);
                k = matvec(floats(p + "attn_k.weight"), 0, kvDim, xn);
                v = matvec(floats(p + "attn_v.weight"), 0, kvDim, xn);
            }
            if (arch.equals("qwen2")) {
                addInPlace(q, floats(p + "attn_q.bias"));
                addInPlace(k, floats(p + "attn_k.bias"));
                addInPlace(v, floats(p + "attn_v.bias"));
            }
            if (arch.equals("qwen3")) {
                normalizeHeads(q, heads, floats(p + "attn_q_norm.weight"));
                normalizeHeads(k, kvHeads, floats(p + "attn_k_norm.weight"));
            }
            rope(q, heads, position);
            rope(k, kvHeads, position);
            keys.get(l).add(k);
            values.get(l).add(v);
            double[] attention = new double[qDim];
            // Gemma 2 slides on the even layers only (Hugging Face's is_sliding = not layer_idx % 2).
            int layerWindow = gemma && l % 2 == 1 ? Integer.MAX_VALUE : window;
            int first = Math.max(0, position - layerWindow + 1);
            for (int h = 0; h < heads; h++) {
                int kvHead = h / (heads / kvHeads);
                double[] scores = new double[position + 1 - first];
                double max = Double.NEGATIVE_INFINITY;
                for (int t = first; t <= position; t++) {
                    double[] key = keys.get(l).get(t);
                    double dot = 0;
                    for (int i = 0; i < headSize; i++) {
                        dot += q[h * headSize + i] * key[kvHead * headSize + i];
                    }
                    // Gemma 2 27B (told by its 46 layers) divides by √(dim / heads) (query_pre_attn_scalar).
                    scores[t - first] = dot / Math.sqrt(gemma && layers == 46 ? (double) dim / heads : headSize);
                    if (gemma) {
                        scores[t - first] = softCap(scores[t - first], arch + ".attn_logit_softcapping");
                    }
                    max = Math.max(max, scores[t - first]);
                }
                double sum = 0;
                for (int t = 0; t < scores.length; t++) {
                    scores[t] = Math.exp(scores[t] - max);
                    sum += scores[t];
                }
                for (int t = first; t <= position; t++) {
                    double[] value = values.get(l).get(t);
                    for (int i = 0; i < headSize; i++) {
                        attention[h * headSize + i] += scores[t - first] / sum * value[kvHead * headSize + i];
                    }
                }
            }
            double[] attentionOut = matvec(floats(p + "attn_output.weight"), 0, dim, attention);
            if (gemma) {
                attentionOut = rmsnorm(attentionOut, 0, dim, floats(p + "post_attention_norm.weight"));
            }
            addInPlace(x, attentionOut);

            xn = rmsnorm(x, 0, dim, floats(p + "ffn_norm.weight"));
            double[] gate;
            double[] up;
            if (arch.equals("phi3")) {
                double[] gateUp = floats(p + "ffn_up.weight");
                gate = matvec(gateUp, 0, ffn, xn);
                up = matvec(gateUp, ffn, ffn, xn);
            } else {
                gate = matvec(floats(p + "ffn_gate.weight"), 0, ffn, xn);
                up = matvec(floats(p + "ffn_up.weight"), 0, ffn, xn);
            }
            double[] hidden = new double[ffn];
            for (int i = 0; i < ffn; i++) {
                hidden[i] = gemma ? gelu(gate[i]) * up[i] : gate[i] / (1 + Math.exp(-gate[i])) * up[i];
            }
            double[] ffnOut = matvec(floats(p + "ffn_down.weight"), 0, dim, hidden);
            if (gemma) {
                ffnOut = rmsnorm(ffnOut, 0, dim, floats(p + "post_ffw_norm.weight"));
            }
            addInPlace(x, ffnOut);
        }
        double[] xn = rmsnorm(x, 0, dim, floats("output_norm.weight"));
        String classifier = g.findTensor("output.weight").isPresent() && !gemma ? "output.weight"
                : "token_embd.weight";
        double[] logits = matvec(floats(classifier), 0, vocab, xn);
        if (gemma) {
            for (int i = 0; i < vocab; i++) {
                logits[i] = softCap(logits[i], arch + ".final_logit_softcapping");
            }
        }
        return logits;
    }

    /** cap·tanh(s / cap), the cap read from the file. */
    private double softCap(double s, String key) {
        double cap = g.getFloat(key);
        return cap * Math.tanh(s / cap);
    }

    /** GELU by its tanh approximation, as Gemma's gelu_pytorch_tanh. */
    private static double gelu(double x) {
        return 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x * x * x)));
    }

    private void normalizeHeads(double[] x, int headCount, double[] weight) {
        for (int h = 0; h < headCount; h++) {
            double[] normalized = rmsnorm(x, h * headSize, headSize, weight);
            System.arraycopy(normalized, 0, x, h * headSize, headSize);
        }
    }

    private static void addInPlace(double[] y, double[] x) {
        for (int i = 0; i < y.length; i++) {
            y[i] += x[i];
        }
    }
}
