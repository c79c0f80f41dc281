package dev.ultrakv.sim;

/**
 * The simulator's stand-in for a disk tier below the memory pool ({@code DiskKvTier}): a set of full-block keys
 * of fixed capacity that forgets the oldest key first, as the disk tier drops its oldest segment first, and that
 * is written through as the engine writes it (every full block of a request when it enters the prefix index, a key
 * already held not written again).
 *
 * <p>A key is a 64-bit hash chained over the blocks of a prefix (the simulator's {@code BlockKey}): a block's key
 * depends on every token before it, so equal keys mean equal prefixes but for a 2^-64 chance. Keys live in a ring
 * of insertion order and an open-addressing table; no boxing.
 */
final class DiskTierModel {
    private static final long EMPTY = 0;
    private final int capacity;
    private final long[] ring;
    private final long[] table;
    private final int mask;
    private int oldest;
    private int size;

    /** @param capacity blocks the tier holds, positive */
    DiskTierModel(int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("a disk tier holds at least one block: " + capacity);
        }
        this.capacity = capacity;
        this.ring = new long[capacity];
        this.table = new long[Integer.highestOneBit(Math.max(2, capacity - 1)) << 2];
        this.mask = table.length - 1;
    }

    /**
     * The keys of the full blocks of {@code tokens[0, count)}: key {@code i} chains over blocks {@code 0..i}.
     * Never {@link #EMPTY}.
     */
    static long[] keys(int[] tokens, int count, int blockSize) {
        long[] keys = new long[count / blockSize];
        long h = 0x9E3779B97F4A7C15L;
        for (int b = 0; b < keys.length; b++) {
            for (int i = b * blockSize; i < (b + 1) * blockSize; i++) {
                h = mix(h ^ tokens[i]);
            }
            keys[b] = h == EMPTY ? 1 : h;
        }
        return keys;
    }

    /** How many of {@code keys[from, to)} the tier holds in a row: the leading run a load would return. */
    int leadingRun(long[] keys, int from, int to) {
        int run = 0;
        while (from + run < to && contains(keys[from + run])) {
            run++;
        }
        return run;
    }

    /** Writes every key of {@code keys} the tier does not hold, forgetting the oldest when full. */
    void writeThrough(long[] keys) {
        for (long key : keys) {
            if (contains(key)) {
                continue;
            }
            if (size == capacity) {
                remove(ring[oldest]);
                oldest = (oldest + 1) % capacity;
                size--;
            }
            ring[(oldest + size) % capacity] = key;
            size++;
            insert(key);
        }
    }

    /** Blocks the tier can hold. */
    int capacity() {
        return capacity;
    }

    /** Keys held. */
    int size() {
        return size;
    }

    boolean contains(long key) {
        for (int slot = slot(key); table[slot] != EMPTY; slot = (slot + 1) & mask) {
            if (table[slot] == key) {
                return true;
            }
        }
        return false;
    }

    private void insert(long key) {
        int slot = slot(key);
        while (table[slot] != EMPTY) {
            slot = (slot + 1) & mask;
        }
        table[slot] = key;
    }

    /** Removes {@code key} and re-places the run after it (linear probing's deletion). */
    private void remove(long key) {
        int slot = slot(key);
        while (table[slot] != key) {
            slot = (slot + 1) & mask;
        }
        table[slot] = EMPTY;
        for (int next = (slot + 1) & mask; table[next] != EMPTY; next = (next + 1) & mask) {
            long moved = table[next];
            table[next] = EMPTY;
            insert(moved);
        }
    }

    private int slot(long key) {
        return (int) mix(key) & mask;
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    @Override
    public String toString() {
        return "disk tier model of " + size + " / " + capacity + " blocks";
    }
}
