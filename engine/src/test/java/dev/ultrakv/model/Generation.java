package dev.ultrakv.model;

/**
 * What a generation produced.
 *
 * @param promptTokens    the prompt's token ids, BOS included
 * @param generatedTokens the new token ids, the stop token excluded
 * @param stopReason      why generation ended
 * @param prefillNanos    time spent on the prompt, up to the first token's logits
 * @param decodeNanos     time spent generating the rest
 */
public record Generation(int[] promptTokens, int[] generatedTokens, StopReason stopReason, long prefillNanos,
                         long decodeNanos) {
}
