package dev.ultrakv.kvcache.policy;

/** Builds the eviction policy of a {@link PolicyKind} for a cache of a given size. */
public final class EvictionPolicies {

    private EvictionPolicies() {
    }

    /**
     * A new policy of {@code kind}, which must be {@linkplain PolicyKind#isOnline online}.
     *
     * @param capacityBlocks blocks the cache can hold (the block pool's size); sizes the frequency sketch, the
     *                       ageing period and the adaptive policy's segments
     * @param tokensPerBlock real tokens one block stands for; the adaptive policy weighs a block's recomputation
     *                       cost by the context before it ({@code depth * tokensPerBlock} tokens)
     */
    public static EvictionPolicy create(PolicyKind kind, int capacityBlocks, int tokensPerBlock) {
        return switch (kind) {
            case LRU -> new LruPolicy();
            case LFU -> new LfuPolicy(LfuPolicy.agePeriodFor(capacityBlocks));
            case ADAPTIVE -> new AdaptivePolicy(capacityBlocks, tokensPerBlock);
            case OPTIMAL -> throw new IllegalArgumentException("the optimal policy needs each block's next use,"
                    + " which only a replay knows: build an OptimalPolicy in the simulator");
        };
    }

    /** As {@link #create(PolicyKind, int, int)}, the kind given by name ({@link PolicyKind#parse}). */
    public static EvictionPolicy create(String kind, int capacityBlocks, int tokensPerBlock) {
        return create(PolicyKind.parse(kind), capacityBlocks, tokensPerBlock);
    }
}
