package dev.ultrakv.kvcache.policy;

import java.util.Locale;

/** The eviction strategies the prefix cache offers; {@link EvictionPolicies#create} builds each. */
public enum PolicyKind {
    /** Least recently used unpinned leaf first. */
    LRU,
    /** Least frequently used unpinned leaf first, with counts halved periodically so old popularity fades. */
    LFU,
    /** Follows recency or sketch-seeded frequency, whichever shadow caches find hitting more; scan resistant. */
    ADAPTIVE,
    /**
     * Belady's offline optimum: the unpinned leaf used again furthest in the future. It needs the future, so only
     * the simulator builds it ({@link OptimalPolicy}); {@link EvictionPolicies#create} refuses it.
     */
    OPTIMAL;

    /** Whether the engine can run this policy: every kind but the offline {@link #OPTIMAL}. */
    public boolean isOnline() {
        return this != OPTIMAL;
    }

    /**
     * The kind named by {@code name}, ignoring case ({@code "lru"}, {@code "LFU"}, {@code "adaptive"}).
     *
     * @throws IllegalArgumentException naming the accepted values
     */
    public static PolicyKind parse(String name) {
        for (PolicyKind kind : values()) {
            if (kind.name().equals(name.trim().toUpperCase(Locale.ROOT))) {
                return kind;
            }
        }
        throw new IllegalArgumentException("unknown eviction policy '" + name
                + "' (expected lru, lfu, adaptive or optimal)");
    }
}
