package dev.ultrakv.kvcache.tier;

/**
 * A bounded set of block keys that one tier is known to hold: what the engine has offered it and it accepted, or
 * what it returned. A direct-mapped table of 64-bit fingerprints (no boxing, no growth): adding a key whose slot is
 * taken forgets the older one, which then costs at most one more offer of it. Two keys with the same fingerprint
 * would read as one (odds of 2<sup>-64</sup> per pair), and the second would not be offered; it is then computed
 * again when needed, never read wrongly, because the tier checks every record against its full key.
 *
 * <p>Not thread-safe: the step loop owns it.
 */
final class KnownKeys {
    /** Marks an empty slot; a fingerprint that is 0 is stored as 1 instead. */
    private static final long EMPTY = 0;

    private final long[] slots;
    private final int mask;

    /** A set of at most {@code capacity} keys, a power of two. */
    KnownKeys(int capacity) {
        if (capacity <= 0 || Integer.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("capacity must be a power of two: " + capacity);
        }
        this.slots = new long[capacity];
        this.mask = capacity - 1;
    }

    boolean contains(BlockKey key) {
        long f = fingerprint(key);
        return slots[slot(f)] == f;
    }

    void add(BlockKey key) {
        long f = fingerprint(key);
        slots[slot(f)] = f;
    }

    /** Forgets {@code key}, if it is held: the tier said it no longer has it. */
    void forget(BlockKey key) {
        long f = fingerprint(key);
        int slot = slot(f);
        if (slots[slot] == f) {
            slots[slot] = EMPTY;
        }
    }

    private int slot(long fingerprint) {
        return (int) (fingerprint ^ (fingerprint >>> 32)) & mask;
    }

    private static long fingerprint(BlockKey key) {
        long f = key.fingerprint();
        return f == EMPTY ? 1 : f;
    }
}
