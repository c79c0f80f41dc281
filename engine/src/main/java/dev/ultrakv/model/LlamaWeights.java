package dev.ultrakv.model;

import dev.ultrakv.tensor.FloatTensor;

import java.util.Objects;

/**
 * The weights of a Llama model. Matrices stay in their stored type (usually memory-mapped) and are read by the
 * kernels of that type; the small normalisation vectors are held as floats.
 *
 * @param tokenEmbedding (vocab, dim)
 * @param attentionNorm  (layer, dim)
 * @param wq             (layer) of (dim, dim)
 * @param wk             (layer) of (kvDim, dim)
 * @param wv             (layer) of (kvDim, dim)
 * @param wo             (layer) of (dim, dim)
 * @param ffnNorm        (layer, dim)
 * @param w1             (layer) of (hiddenDim, dim): the SwiGLU gate
 * @param w2             (layer) of (dim, hiddenDim): the down projection
 * @param w3             (layer) of (hiddenDim, dim): the up projection
 * @param finalNorm      (dim)
 * @param classifier     (vocab, dim); the token embedding itself when the classifier is shared
 */
public record LlamaWeights(FloatTensor tokenEmbedding, float[][] attentionNorm, FloatTensor[] wq, FloatTensor[] wk,
                           FloatTensor[] wv, FloatTensor[] wo, float[][] ffnNorm, FloatTensor[] w1,
                           FloatTensor[] w2, FloatTensor[] w3, float[] finalNorm, FloatTensor classifier) {

    public LlamaWeights {
        Objects.requireNonNull(tokenEmbedding, "tokenEmbedding");
        Objects.requireNonNull(classifier, "classifier");
        Objects.requireNonNull(finalNorm, "finalNorm");
    }

    /**
     * Checks that every tensor has the number of elements {@code config} implies.
     *
     * @throws IllegalArgumentException naming the first tensor whose size is wrong
     */
    public void checkShapes(LlamaConfig config) {
        int dim = config.dim();
        int kvDim = config.kvDim();
        int hidden = config.hiddenDim();
        check("token embedding", tokenEmbedding, (long) config.vocabularySize() * dim);
        check("classifier", classifier, (long) config.vocabularySize() * dim);
        check("final norm", finalNorm.length, dim);
        for (int l = 0; l < config.layers(); l++) {
            check("layer " + l + " attention norm", attentionNorm[l].length, dim);
            check("layer " + l + " wq", wq[l], (long) dim * dim);
            check("layer " + l + " wk", wk[l], (long) kvDim * dim);
            check("layer " + l + " wv", wv[l], (long) kvDim * dim);
            check("layer " + l + " wo", wo[l], (long) dim * dim);
            check("layer " + l + " ffn norm", ffnNorm[l].length, dim);
            check("layer " + l + " w1", w1[l], (long) hidden * dim);
            check("layer " + l + " w2", w2[l], (long) dim * hidden);
            check("layer " + l + " w3", w3[l], (long) hidden * dim);
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
