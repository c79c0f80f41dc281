package dev.ultrakv.model;

/**
 * What Gemma 2 computes that Llama does not, besides its weights (the post-attention and post-feed-forward norms,
 * which {@link LlamaWeights} carries) — as llama.cpp's {@code build_gemma2} computes it:
 * <ul>
 *   <li>token embeddings multiplied by {@code embeddingScale} (√dim);</li>
 *   <li>queries multiplied by {@code queryScale} after RoPE, on top of the 1/√headSize every store applies, so that
 *       scores are divided by √(query_pre_attn_scalar): 1 for the 2B and 9B models (the scalar is the head size),
 *       √(headSize / (dim / heads)) for the 27B (llama.cpp tells the 27B by its 46 layers);</li>
 *   <li>attention scores and the final logits soft-capped, {@code s → cap·tanh(s / cap)};</li>
 *   <li>a gated GELU feed-forward instead of SwiGLU;</li>
 *   <li>the sliding window on the even layers only (0, 2, 4, ...), full attention on the odd ones.</li>
 * </ul>
 *
 * @param embeddingScale   factor of the token embeddings
 * @param queryScale       factor of the queries after RoPE
 * @param attentionSoftCap cap of the attention scores ({@code attn_logit_softcapping}, 50)
 * @param finalSoftCap     cap of the logits ({@code final_logit_softcapping}, 30)
 */
public record GemmaTraits(float embeddingScale, float queryScale, float attentionSoftCap, float finalSoftCap) {

    /** @throws IllegalArgumentException if a factor or cap is not positive and finite */
    public GemmaTraits {
        for (float f : new float[] {embeddingScale, queryScale, attentionSoftCap, finalSoftCap}) {
            if (!(f > 0) || Float.isInfinite(f)) {
                throw new IllegalArgumentException("invalid Gemma factor or soft cap " + f + " in " + this);
            }
        }
    }

    /** Whether {@code layer} attends through the model's sliding window (the even layers). */
    public boolean slides(int layer) {
        return layer % 2 == 0;
    }
}
