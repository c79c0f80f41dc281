package dev.ultrakv.model;

import dev.ultrakv.kvcache.KvLayout;

import java.util.Objects;

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
 * @param headSize         floats per attention head; {@code dim / heads} except where a file says otherwise
 *                         (Qwen 3's {@code key_length}), so queries are {@code heads * headSize} wide
 * @param ropeStyle        which elements RoPE rotates together
 * @param ropeScale        positions are multiplied by this before rotation (linear RoPE scaling); 1 for none
 * @param slidingWindow    keys each query sees, itself included, on every layer (Phi-3, Mistral) or on the layers
 *                         {@code gemma} says; {@link #NO_WINDOW} for full causal attention
 * @param gemma            Gemma 2's departures from Llama ({@link GemmaTraits}); null for every other family
 */
public record LlamaConfig(int dim, int hiddenDim, int layers, int heads, int kvHeads, int vocabularySize,
                          int contextLength, float ropeTheta, float normEpsilon, boolean sharedClassifier,
                          int headSize, RopeStyle ropeStyle, float ropeScale, int slidingWindow,
                          GemmaTraits gemma) {

    /** The {@link #slidingWindow} of a model that attends to every earlier position. */
    public static final int NO_WINDOW = Integer.MAX_VALUE;

    /** Validates the shape; a model file that breaks these rules cannot be run. */
    public LlamaConfig {
        require(dim > 0, "dim", dim);
        require(hiddenDim > 0, "hidden_dim", hiddenDim);
        require(layers > 0, "n_layers", layers);
        require(heads > 0, "n_heads", heads);
        require(kvHeads > 0 && heads % kvHeads == 0, "n_kv_heads (must divide n_heads " + heads + ")", kvHeads);
        require(vocabularySize > 0, "vocab_size", vocabularySize);
        require(contextLength > 0, "seq_len", contextLength);
        require(headSize > 0 && headSize % 2 == 0, "head size (RoPE rotates pairs, so it must be even)", headSize);
        require(slidingWindow > 0, "sliding window", slidingWindow);
        Objects.requireNonNull(ropeStyle, "ropeStyle");
        if (!(ropeTheta > 0) || Float.isInfinite(ropeTheta)) {
            throw new IllegalArgumentException("invalid RoPE base " + ropeTheta);
        }
        if (!(ropeScale > 0) || Float.isInfinite(ropeScale)) {
            throw new IllegalArgumentException("invalid RoPE position scale " + ropeScale);
        }
        if (!(normEpsilon > 0) || normEpsilon >= 1) {
            throw new IllegalArgumentException("invalid RMSNorm epsilon " + normEpsilon);
        }
    }

    /**
     * A Llama (1, 2) configuration: head size {@code dim / heads}, adjacent-pair RoPE, no scaling, full attention.
     */
    public LlamaConfig(int dim, int hiddenDim, int layers, int heads, int kvHeads, int vocabularySize,
                       int contextLength, float ropeTheta, float normEpsilon, boolean sharedClassifier) {
        require(heads > 0 && dim % heads == 0, "n_heads (must divide dim " + dim + ")", heads);
        this(dim, hiddenDim, layers, heads, kvHeads, vocabularySize, contextLength, ropeTheta, normEpsilon,
                sharedClassifier, dim / heads, RopeStyle.ADJACENT_PAIRS, 1f, NO_WINDOW, null);
    }

    /** This configuration with another context length. */
    public LlamaConfig withContextLength(int length) {
        return new LlamaConfig(dim, hiddenDim, layers, heads, kvHeads, vocabularySize, length, ropeTheta,
                normEpsilon, sharedClassifier, headSize, ropeStyle, ropeScale, slidingWindow, gemma);
    }

    private static void require(boolean ok, String what, int value) {
        if (!ok) {
            throw new IllegalArgumentException("invalid " + what + ": " + value);
        }
    }

    /** This configuration with another RoPE position scale. */
    public LlamaConfig withRopeScale(float scale) {
        return new LlamaConfig(dim, hiddenDim, layers, heads, kvHeads, vocabularySize, contextLength, ropeTheta,
                normEpsilon, sharedClassifier, headSize, ropeStyle, scale, slidingWindow, gemma);
    }

    /** The keys a query of {@code layer} sees: {@link #slidingWindow} where the layer slides, else all. */
    public int windowOf(int layer) {
        return gemma == null || gemma.slides(layer) ? slidingWindow : NO_WINDOW;
    }

    /**
     * The most positions a query of any layer reads, its own included: {@link #slidingWindow} when every layer
     * slides (Mistral, Phi-3), else {@link #NO_WINDOW} (Gemma 2's odd layers read everything). Keys and values
     * older than that are never read again.
     */
    public int attentionSpan() {
        int span = 0;
        for (int layer = 0; layer < layers; layer++) {
            span = Math.max(span, windowOf(layer));
        }
        return span;
    }

    /** Floats of the queries (and of the attention output) per position: {@code heads * headSize}. */
    public int qDim() {
        return heads * headSize;
    }

    /** Floats of K (or V) per position: {@code kvHeads * headSize}. */
    public int kvDim() {
        return kvHeads * headSize;
    }

    /** The shape of this model's keys and values. */
    public KvLayout kvLayout() {
        return new KvLayout(layers, heads, kvHeads, headSize());
    }

    /** Parameters of the model, counting the classifier once when it is shared. */
    public long parameterCount() {
        long perLayer = (gemma == null ? 2L : 4L) * dim // the RMSNorm weights (Gemma 2 has post-norms too)
                + (long) qDim() * dim * 2               // wq, wo
                + (long) kvDim() * dim * 2              // wk, wv
                + (long) hiddenDim * dim * 3;           // w1, w2, w3
        long embedding = (long) vocabularySize * dim;
        return embedding + layers * perLayer + dim + (sharedClassifier ? 0 : embedding);
    }
}
