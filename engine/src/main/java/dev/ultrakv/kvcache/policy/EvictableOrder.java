package dev.ultrakv.kvcache.policy;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.TreeSet;
import java.util.function.Predicate;

/**
 * The evictable entries of a policy in its victim order, with each entry's {@link BlockEntry#evictable} flag kept
 * in step: the bookkeeping LRU and LFU share, so that each states only its order and how references change it.
 * Only evictable entries are ordered, so a victim is found in {@code O(log n)} however many pinned or inner blocks
 * the cache holds.
 */
final class EvictableOrder {
    private final TreeSet<BlockEntry> entries;

    EvictableOrder(Comparator<BlockEntry> order) {
        this.entries = new TreeSet<>(order);
    }

    /** The entry became evictable. */
    void add(BlockEntry entry) {
        entry.evictable = true;
        entries.add(entry);
    }

    /** The entry is no longer evictable (pinned, or a parent again). */
    void remove(BlockEntry entry) {
        entries.remove(entry);
        entry.evictable = false;
    }

    /** The entry leaves the cache: out of the order if it was in it. */
    void forget(BlockEntry entry) {
        if (entry.evictable) {
            remove(entry);
        }
    }

    /**
     * Takes the entry out of the order before its sort key changes; pass the result to {@link #relink} after.
     *
     * @return whether it was in the order
     */
    boolean unlink(BlockEntry entry) {
        return entry.evictable && entries.remove(entry);
    }

    /** Puts an entry {@link #unlink}ed before its sort key changed back in its new place. */
    void relink(BlockEntry entry, boolean wasQueued) {
        if (wasQueued) {
            entries.add(entry);
        }
    }

    /** The first victim, or null when nothing is evictable. */
    BlockEntry first() {
        return entries.isEmpty() ? null : entries.first();
    }

    /**
     * Changes the sort keys of many entries at once (LFU's ageing): the ordered entries are taken out, {@code change}
     * runs, and they go back in their new order.
     */
    void reorderAll(Runnable change) {
        var queued = new ArrayList<>(entries);
        entries.clear();
        change.run();
        entries.addAll(queued);
    }

    /** Entries in the order. */
    int size() {
        return entries.size();
    }

    /** Checks each ordered entry with {@code holds}, naming the policy in the message. */
    void checkEach(Predicate<BlockEntry> holds, String message) {
        for (BlockEntry entry : entries) {
            Invariants.check(entry.evictable && holds.test(entry), message);
        }
    }
}
