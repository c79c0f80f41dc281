package dev.ultrakv;

import dev.ultrakv.kvcache.policy.PolicyKind;

/**
 * Which eviction policy decides what the KV cache gives up when it is full (see docs/policies.md).
 */
public enum CacheStrategy {
    /** Least recently used cached block first. */
    LRU(PolicyKind.LRU),
    /** Least frequently used cached block first, with counts that fade over time. */
    LFU(PolicyKind.LFU),
    /** Follows recency or frequency, whichever would have hit more lately; resists scans. The default. */
    ADAPTIVE(PolicyKind.ADAPTIVE);

    private final PolicyKind policy;

    CacheStrategy(PolicyKind policy) {
        this.policy = policy;
    }

    /** The eviction policy that implements this strategy. */
    PolicyKind policy() {
        return policy;
    }
}
