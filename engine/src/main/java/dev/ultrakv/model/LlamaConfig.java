package dev.ultrakv.model;

import dev.ultrakv.kvcache.KvLayout;

/**
 * The hyper-parameters of a Llama-family transformer.
 *
 * @param dim              width of the residual stream
 * @param hiddenDim        width of the SwiGLU feed-forward layer
 * @param layers           transformer blocks
 * @param heads            query heads
 * @param kvHeads          key/value heads (fewer than {@code heads} for grouped-query attention)
 * @param vocabularySize   tokens in the vocabulary
 * @param contextLength    positions the model was trained for; generation stops there
 * @param ropeTheta        RoPE frequency base (10000 for Llama 2)
 * @param normEpsilon      RMSNorm epsilon
 * @param sharedClassifier whether the output classifier is the token embedding matrix
 */
public record LlamaConfig(int dim, int hiddenDim, int layers, int heads, int kvHeads, int vocabularySize,
                          int contextLength, float ropeTheta, float normEpsilon, boolean sharedClassifier) {

    /** Validates the shape; a model file that breaks these rules cannot be run. */
    public LlamaConfig {
        require(dim > 0, "dim", dim);
        require(hiddenDim > 0, "hidden_dim", hiddenDim);
        require(layers > 0, "n_layers", layers);
        require(heads > 0 && dim % heads == 0, "n_heads (must divide dim " + dim + ")", heads);
        require(kvHeads > 0 && heads % kvHeads == 0, "n_kv_heads (must divide n_heads " + heads + ")", kvHeads);
        require(vocabularySize > 0, "vocab_size", vocabularySize);
        require(contextLength > 0, "seq_len", contextLength);
        require((dim / heads) % 2 == 0, "head size (RoPE rotates pairs, so it must be even)", dim / heads);
        if (!(ropeTheta > 0) || Float.isInfinite(ropeTheta)) {
            throw new IllegalArgumentException("invalid RoPE base " + ropeTheta);
        }
        if (!(normEpsilon > 0) || normEpsilon >= 1) {
            throw new IllegalArgumentException("invalid RMSNorm epsilon " + normEpsilon);
        }
    }

    private static void require(boolean ok, String what, int value) {
        if (!ok) {
            throw new IllegalArgumentException("invalid " + what + ": " + value);
        }
    }

    /** Floats per attention head. */
    public int headSize() {
        return dim / heads;
    }

    /** Floats of K (or V) per position: {@code kvHeads * headSize}. */
    public int kvDim() {
        return kvHeads * headSize();
    }

    /** The shape of this model's keys and values. */
    public KvLayout kvLayout() {
        return new KvLayout(layers, heads, kvHeads, headSize());
    }

    /** Parameters of the model, counting the classifier once when it is shared. */
    public long parameterCount() {
        long perLayer = 2L * dim                        // the two RMSNorm weights
                + (long) dim * dim * 2                  // wq, wo
                + (long) kvDim() * dim * 2              // wk, wv
                + (long) hiddenDim * dim * 3;           // w1, w2, w3
        long embedding = (long) vocabularySize * dim;
        return embedding + layers * perLayer + dim + (sharedClassifier ? 0 : embedding);
    }
}
