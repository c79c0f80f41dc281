package dev.ultrakv.kvcache.policy;

import java.util.Collections;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.Set;

/**
 * Evicts the least frequently used unpinned leaf, the least recently used among equals, with ageing: every
 * {@code agePeriod} references (insertions plus accesses) all counts are halved, so popularity that is no longer
 * renewed fades within a few periods instead of pinning stale prefixes forever.
 *
 * <p>Counts live only while a block is cached (in-cache LFU): a block evicted and computed again starts at one.
 * Halving is the reset of TinyLFU (Einziger, Friedman and Manes, "TinyLFU: A Highly Efficient Cache Admission
 * Policy", 2017) applied to exact counts; it costs {@code O(n log n)} once per period of at least {@code n}
 * references, so {@code O(log n)} amortized.
 */
public final class LfuPolicy implements EvictionPolicy {
    /** References per cached block between halvings: TinyLFU's sample size of ten times the cache size. */
    static final int AGE_PERIOD_PER_BLOCK = 10;

    private static final Comparator<BlockEntry> BY_FREQUENCY_THEN_AGE =
            Comparator.<BlockEntry>comparingInt(e -> e.frequency).thenComparingLong(e -> e.order);

    private final int agePeriod;
    private final Set<BlockEntry> entries = Collections.newSetFromMap(new IdentityHashMap<>());
    private final EvictableOrder evictable = new EvictableOrder(BY_FREQUENCY_THEN_AGE);
    private long tick;
    private int referencesSinceAgeing;

    /**
     * @param agePeriod references between two halvings of every count; positive
     */
    public LfuPolicy(int agePeriod) {
        if (agePeriod <= 0) {
            throw new IllegalArgumentException("age period must be positive: " + agePeriod);
        }
        this.agePeriod = agePeriod;
    }

    /** The age period for a cache of {@code capacityBlocks}: {@value #AGE_PERIOD_PER_BLOCK} references a block. */
    static int agePeriodFor(int capacityBlocks) {
        return (int) Math.min(Integer.MAX_VALUE, (long) AGE_PERIOD_PER_BLOCK * Math.max(1, capacityBlocks));
    }

    @Override
    public PolicyKind kind() {
        return PolicyKind.LFU;
    }

    /** The current (aged) use count of a cached entry. */
    public int frequency(BlockEntry entry) {
        return entry.frequency;
    }

    @Override
    public void onInsert(BlockEntry entry, boolean requested) {
        entry.frequency = 1;
        entry.order = ++tick;
        entries.add(entry);
        countReference();
    }

    @Override
    public void onAccess(BlockEntry entry) {
        boolean queued = evictable.unlink(entry);
        entry.frequency++;
        entry.order = ++tick;
        evictable.relink(entry, queued);
        countReference();
    }

    private void countReference() {
        if (++referencesSinceAgeing >= agePeriod) {
            referencesSinceAgeing = 0;
            // Halving can merge counts and so change the order: re-sort the evictable entries.
            evictable.reorderAll(() -> {
                for (BlockEntry entry : entries) {
                    entry.frequency >>>= 1;
                }
            });
        }
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
        entries.remove(entry);
    }

    @Override
    public BlockEntry selectVictim() {
        return evictable.first();
    }

    @Override
    public int size() {
        return entries.size();
    }

    @Override
    public void checkInvariants(int expectedSize, int expectedEvictable) {
        Invariants.check(entries.size() == expectedSize, "LFU holds %d entries, the index %d", entries.size(),
                expectedSize);
        Invariants.check(evictable.size() == expectedEvictable, "LFU orders %d evictable entries, the index has %d",
                evictable.size(), expectedEvictable);
        evictable.checkEach(entries::contains, "LFU orders an entry it does not hold");
    }
}
