package dev.ultrakv.kvcache;

/**
 * Told the attention weights a store computed, for compression methods that keep the entries attention favours
 * (H2O, SnapKV). Called from attention's worker threads, several at once for one sequence.
 */
@FunctionalInterface
public interface AttentionObserver {
    /**
     * The weights of query head {@code head} of the token whose own entry is {@code queryEntry}, over the entries
     * {@code [0, length)} of {@code layer}; {@code probabilities[0, length)} sum to 1 and may not be kept.
     */
    void observe(int layer, int head, int queryEntry, float[] probabilities, int length);
}
