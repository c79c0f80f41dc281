package dev.ultrakv.kvcache.policy;

import java.util.Comparator;

/**
 * Evicts the least recently used unpinned leaf. Recency is a tick taken at each insertion and access.
 *
 * <p>Only evictable entries are kept in order ({@link EvictableOrder}, keyed by tick), so a victim is found in
 * {@code O(1)} and the order kept in {@code O(log n)}, however many pinned or inner blocks the cache holds. A parent
 * that becomes a leaf keeps the tick of its own last use, as in SGLang's radix cache.
 */
public final class LruPolicy implements EvictionPolicy {
    private final EvictableOrder evictable = new EvictableOrder(Comparator.comparingLong(e -> e.order));
    private long tick;
    private int size;

    /** An empty policy. */
    public LruPolicy() {
    }

    @Override
    public PolicyKind kind() {
        return PolicyKind.LRU;
    }

    @Override
    public void onInsert(BlockEntry entry, boolean requested) {
        entry.order = ++tick;
        size++;
    }

    @Override
    public void onAccess(BlockEntry entry) {
        boolean queued = evictable.unlink(entry);
        entry.order = ++tick;
        evictable.relink(entry, queued);
    }

    @Override
    public void onEvictable(BlockEntry entry) {
        evictable.add(entry);
    }

    @Override
    public void onUnevictable(BlockEntry entry) {
        evictable.remove(entry);
    }

    @Override
    public void onRemove(BlockEntry entry) {
        evictable.forget(entry);
        size--;
    }

    @Override
    public BlockEntry selectVictim() {
        return evictable.first();
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public void checkInvariants(int expectedSize, int expectedEvictable) {
        Invariants.check(size == expectedSize, "LRU holds %d entries, the index %d", size, expectedSize);
        Invariants.check(evictable.size() == expectedEvictable, "LRU orders %d evictable entries, the index has %d",
                evictable.size(), expectedEvictable);
        evictable.checkEach(entry -> true, "LRU orders an entry not marked evictable");
    }
}
