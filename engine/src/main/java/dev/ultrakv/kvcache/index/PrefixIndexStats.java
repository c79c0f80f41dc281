package dev.ultrakv.kvcache.index;

/**
 * Counters of a {@link PrefixIndex} since it was created. A lookup is counted when a match is pinned: once per
 * request admitted.
 *
 * @param lookups            matches pinned
 * @param requestHits        pinned matches that covered every token looked up ({@link PrefixMatch#isFullHit()})
 * @param lookupTokens       tokens looked up by pinned matches (prompt tokens)
 * @param cachedTokens       of those, tokens found cached
 * @param insertedBlocks     blocks adopted from requests
 * @param duplicateBlocks    blocks given back on insert because their content was cached already
 * @param evictedBlocks      blocks evicted by {@link PrefixIndex#evict}
 * @param supersededBlocks   partial blocks dropped because a longer block covers them
 */
public record PrefixIndexStats(long lookups, long requestHits, long lookupTokens, long cachedTokens,
                               long insertedBlocks, long duplicateBlocks, long evictedBlocks,
                               long supersededBlocks) {

    /** Requests whose whole prompt was cached, over requests; 0 before the first. */
    public double requestHitRate() {
        return lookups == 0 ? 0 : (double) requestHits / lookups;
    }

    /** Cached prompt tokens over prompt tokens; 0 before the first. */
    public double tokenHitRate() {
        return lookupTokens == 0 ? 0 : (double) cachedTokens / lookupTokens;
    }
}
