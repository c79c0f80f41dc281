package dev.ultrakv.kvcache.policy;

import java.util.Arrays;
import java.util.Comparator;
import java.util.function.Predicate;

/**
 * The evictable entries of a policy in its victim order, with each entry's {@link BlockEntry#evictable} flag kept
 * in step: the bookkeeping LRU and LFU share, so that each states only its order and how references change it.
 * Only evictable entries are ordered, so a victim is found in {@code O(1)} and an entry added or removed in
 * {@code O(log n)}, however many pinned or inner blocks the cache holds.
 *
 * <p>An indexed binary heap: each entry knows its slot ({@link BlockEntry#slot}), so removing one from the middle
 * (a block pinned again, or a victim another order chose) needs no search. A red-black tree did the same in a
 * {@code TreeSet}, at the cost of a search by comparator down the tree for every removal, which JFR put at about a
 * third of an eviction. The order must be total (ties broken, as by a tick): {@link #first()} is its least entry.
 */
final class EvictableOrder {
    private final Comparator<BlockEntry> order;
    private BlockEntry[] heap = new BlockEntry[64];
    private int size;

    EvictableOrder(Comparator<BlockEntry> order) {
        this.order = order;
    }

    /** The entry became evictable. */
    void add(BlockEntry entry) {
        entry.evictable = true;
        insert(entry);
    }

    /** The entry is no longer evictable (pinned, or a parent again). */
    void remove(BlockEntry entry) {
        delete(entry);
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
        return entry.evictable && delete(entry);
    }

    /** Puts an entry {@link #unlink}ed before its sort key changed back in its new place. */
    void relink(BlockEntry entry, boolean wasQueued) {
        if (wasQueued) {
            insert(entry);
        }
    }

    /** The first victim, or null when nothing is evictable. */
    BlockEntry first() {
        return size == 0 ? null : heap[0];
    }

    /**
     * Changes the sort keys of many entries at once (LFU's ageing): {@code change} runs, and the order is rebuilt
     * around the new keys.
     */
    void reorderAll(Runnable change) {
        change.run();
        for (int i = size / 2 - 1; i >= 0; i--) {
            siftDown(i);
        }
    }

    /** Entries in the order. */
    int size() {
        return size;
    }

    /** Checks each ordered entry with {@code holds}, naming the policy in the message, and the heap's own order. */
    void checkEach(Predicate<BlockEntry> holds, String message) {
        for (int i = 0; i < size; i++) {
            BlockEntry entry = heap[i];
            Invariants.check(entry.evictable && holds.test(entry), message);
            Invariants.check(entry.slot == i, "an evictable entry does not know its place in the order");
            Invariants.check(i == 0 || order.compare(heap[(i - 1) / 2], entry) < 0,
                    "the order of evictable entries is broken");
        }
    }

    private void insert(BlockEntry entry) {
        if (size == heap.length) {
            heap = Arrays.copyOf(heap, size * 2);
        }
        place(entry, size);
        siftUp(size++);
    }

    /** Takes {@code entry} out; false if it was not in this order. */
    private boolean delete(BlockEntry entry) {
        int i = entry.slot;
        if (i < 0 || i >= size || heap[i] != entry) {
            return false;
        }
        entry.slot = -1;
        BlockEntry last = heap[--size];
        heap[size] = null;
        if (i < size) {
            place(last, i);
            if (i > 0 && order.compare(last, heap[(i - 1) / 2]) < 0) {
                siftUp(i);
            } else {
                siftDown(i);
            }
        }
        return true;
    }

    private void siftUp(int i) {
        BlockEntry entry = heap[i];
        while (i > 0) {
            int parent = (i - 1) / 2;
            BlockEntry above = heap[parent];
            if (order.compare(entry, above) >= 0) {
                break;
            }
            place(above, i);
            i = parent;
        }
        place(entry, i);
    }

    private void siftDown(int i) {
        BlockEntry entry = heap[i];
        int half = size / 2;
        while (i < half) {
            int child = 2 * i + 1;
            BlockEntry least = heap[child];
            int right = child + 1;
            if (right < size && order.compare(heap[right], least) < 0) {
                child = right;
                least = heap[right];
            }
            if (order.compare(entry, least) <= 0) {
                break;
            }
            place(least, i);
            i = child;
        }
        place(entry, i);
    }

    private void place(BlockEntry entry, int i) {
        heap[i] = entry;
        entry.slot = i;
    }
}
