package dev.ultrakv.model;

import dev.ultrakv.tensor.FloatTensor;

import java.util.Objects;

/**
 * The weights of a Llama-family model. Matrices stay in their stored type (usually memory-mapped) and are read by
 * the kernels of that type; the small normalisation and bias vectors are held as floats. The optional parts are
 * null where a family has none.
 *
 * @param tokenEmbedding (vocab, dim)
 * @param attentionNorm  (layer, dim)
 * @param wq             (layer) of (qDim, dim)
 * @param wk             (layer) of (kvDim, dim)
 * @param wv             (layer) of (kvDim, dim)
 * @param wo             (layer) of (dim, qDim)
 * @param ffnNorm        (layer, dim)
 * @param w1             (layer) of (hiddenDim, dim): the gate (SwiGLU; GELU for Gemma 2)
 * @param w2             (layer) of (dim, hiddenDim): the down projection
 * @param w3             (layer) of (hiddenDim, dim): the up projection
 * @param finalNorm      (dim)
 * @param classifier     (vocab, dim); the token embedding itself when the classifier is shared
 * @param qBias          (layer, qDim) added to the queries (Qwen 2), or null
 * @param kBias          (layer, kvDim) added to the keys, or null; present exactly when {@code qBias} is
 * @param vBias          (layer, kvDim) added to the values, or null; present exactly when {@code qBias} is
 * @param qNorm          (layer, headSize): RMSNorm weight of every query head before RoPE (Qwen 3), or null
 * @param kNorm          (layer, headSize): the same for the key heads; present exactly when {@code qNorm} is
 * @param ropeFactors    (headSize / 2): RoPE pair {@code i}'s frequency is divided by {@code ropeFactors[i]}
 *                       (Llama 3.1's long-context scaling, as the file's {@code rope_freqs.weight}), or null
 * @param postAttentionNorm (layer, dim): RMSNorm weight of the attention's output before the residual add
 *                       (Gemma 2), or null
 * @param postFfnNorm    (layer, dim): the same for the feed-forward's output; present exactly when
 *                       {@code postAttentionNorm} is
 */
public record LlamaWeights(FloatTensor tokenEmbedding, float[][] attentionNorm, FloatTensor[] wq, FloatTensor[] wk,
                           FloatTensor[] wv, FloatTensor[] wo, float[][] ffnNorm, FloatTensor[] w1,
                           FloatTensor[] w2, FloatTensor[] w3, float[] finalNorm, FloatTensor classifier,
                           float[][] qBias, float[][] kBias, float[][] vBias, float[][] qNorm, float[][] kNorm,
                           float[] ropeFactors, float[][] postAttentionNorm, float[][] postFfnNorm) {

    public LlamaWeights {
        Objects.requireNonNull(tokenEmbedding, "tokenEmbedding");
        Objects.requireNonNull(classifier, "classifier");
        Objects.requireNonNull(finalNorm, "finalNorm");
        if ((qBias == null) != (kBias == null) || (qBias == null) != (vBias == null)) {
            throw new IllegalArgumentException("the Q, K and V biases come together or not at all");
        }
        if ((qNorm == null) != (kNorm == null)) {
            throw new IllegalArgumentException("the Q and K head norms come together or not at all");
        }
        if ((postAttentionNorm == null) != (postFfnNorm == null)) {
            throw new IllegalArgumentException("the post-attention and post-feed-forward norms come together");
        }
    }

    /** The weights of a plain Llama model: no biases, no head norms, unscaled RoPE. */
    public LlamaWeights(FloatTensor tokenEmbedding, float[][] attentionNorm, FloatTensor[] wq, FloatTensor[] wk,
                        FloatTensor[] wv, FloatTensor[] wo, float[][] ffnNorm, FloatTensor[] w1,
                        FloatTensor[] w2, FloatTensor[] w3, float[] finalNorm, FloatTensor classifier) {
        this(tokenEmbedding, attentionNorm, wq, wk, wv, wo, ffnNorm, w1, w2, w3, finalNorm, classifier,
                null, null, null, null, null, null, null, null);
    }

    /**
     * Checks that every tensor has the number of elements {@code config} implies.
     *
     * @throws IllegalArgumentException naming the first tensor whose size is wrong
     */
    public void checkShapes(LlamaConfig config) {
        int dim = config.dim();
        int qDim = config.qDim();
        int kvDim = config.kvDim();
        int headSize = config.headSize();
        int hidden = config.hiddenDim();
        check("token embedding", tokenEmbedding, (long) config.vocabularySize() * dim);
        check("classifier", classifier, (long) config.vocabularySize() * dim);
        check("final norm", finalNorm.length, dim);
        for (int l = 0; l < config.layers(); l++) {
            check("layer " + l + " attention norm", attentionNorm[l].length, dim);
            check("layer " + l + " wq", wq[l], (long) qDim * dim);
            check("layer " + l + " wk", wk[l], (long) kvDim * dim);
            check("layer " + l + " wv", wv[l], (long) kvDim * dim);
            check("layer " + l + " wo", wo[l], (long) dim * qDim);
            check("layer " + l + " ffn norm", ffnNorm[l].length, dim);
            check("layer " + l + " w1", w1[l], (long) hidden * dim);
            check("layer " + l + " w2", w2[l], (long) dim * hidden);
            check("layer " + l + " w3", w3[l], (long) hidden * dim);
            if (qBias != null) {
                check("layer " + l + " query bias", qBias[l].length, qDim);
                check("layer " + l + " key bias", kBias[l].length, kvDim);
                check("layer " + l + " value bias", vBias[l].length, kvDim);
            }
            if (postAttentionNorm != null) {
                check("layer " + l + " post-attention norm", postAttentionNorm[l].length, dim);
                check("layer " + l + " post-feed-forward norm", postFfnNorm[l].length, dim);
            }
            if (qNorm != null) {
                check("layer " + l + " query head norm", qNorm[l].length, headSize);
                check("layer " + l + " key head norm", kNorm[l].length, headSize);
            }
        }
        if (ropeFactors != null) {
            check("RoPE frequency factors", ropeFactors.length, headSize / 2);
        }
    }

    private static void check(String name, FloatTensor t, long expected) {
        check(name, t.size(), expected);
    }

    private static void check(String name, long actual, long expected) {
        if (actual != expected) {
            throw new IllegalArgumentException(name + " has " + actual + " elements, expected " + expected);
        }
    }

    /** Bytes of weights read to compute one token: every matrix once, the embedding row aside. */
    public long bytesPerToken() {
        long bytes = classifier.segment().byteSize();
        for (int l = 0; l < wq.length; l++) {
            bytes += wq[l].segment().byteSize() + wk[l].segment().byteSize() + wv[l].segment().byteSize()
                    + wo[l].segment().byteSize() + w1[l].segment().byteSize() + w2[l].segment().byteSize()
                    + w3[l].segment().byteSize();
        }
        return bytes;
    }
}
