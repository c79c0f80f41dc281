package dev.ultrakv.kvcache.policy;

/**
 * A count-min sketch of 4-bit saturating counters that estimates how often a key was referenced recently, in a
 * few bytes per cached block, remembering keys that are no longer cached. After a sample of
 * {@code 10 * capacity} references every counter is halved, so the estimate follows the recent popularity
 * (TinyLFU's reset: Einziger, Friedman and Manes, 2017, section 3.3).
 *
 * <p>Each key touches one counter in each of {@value #DEPTH} rows, chosen by double hashing; the estimate is the
 * smallest of them (it never under-counts until a reset). Increments are conservative: only the counters equal
 * to the current minimum grow, which keeps collisions from inflating popular-looking keys.
 */
final class FrequencySketch {
    /** Rows of counters; four keeps the chance that all of a key's counters collide small. */
    static final int DEPTH = 4;
    /** Counters saturate here: 4 bits, enough to tell a scan (1) from a hot block, and quick to age out. */
    static final int MAX_COUNT = 15;
    /**
     * Counters per row per cached block. A sample of ten references per block spread over four counters per block
     * left most counters above zero, so a block never seen read as seen (a one-off looked reused); sixteen keep
     * most of them at zero, for 64 bytes per block.
     */
    static final int WIDTH_PER_BLOCK = 16;
    /** The narrowest row, so that tiny test caches still spread their keys. */
    static final int MIN_WIDTH = 16;
    /** Blocks beyond which rows stop growing (64 MiB of counters): a bigger pool shares counters. */
    static final int MAX_SIZED_BLOCKS = 1 << 20;
    /** References per cached block between two halvings (TinyLFU's sample size). */
    static final int SAMPLE_PER_BLOCK = 10;

    private final byte[] counters;
    private final int widthMask;
    private final int sampleSize;
    private int additions;

    /** A sketch sized for a cache of {@code capacityBlocks}. */
    FrequencySketch(int capacityBlocks) {
        int blocks = Math.max(1, capacityBlocks);
        int wanted = Math.max(MIN_WIDTH, Math.min(MAX_SIZED_BLOCKS, blocks) * WIDTH_PER_BLOCK);
        int width = Integer.highestOneBit(wanted - 1) << 1;
        counters = new byte[DEPTH * width];
        widthMask = width - 1;
        sampleSize = (int) Math.min(Integer.MAX_VALUE, (long) SAMPLE_PER_BLOCK * blocks);
    }

    /** The estimated recent references of {@code key}, from 0 to {@value #MAX_COUNT}. */
    int frequency(long key) {
        long hash = mix(key);
        int min = MAX_COUNT;
        for (int row = 0; row < DEPTH; row++) {
            min = Math.min(min, counters[slot(hash, row)]);
        }
        return min;
    }

    /**
     * Records one reference of {@code key}, and halves every counter when a sample is complete.
     *
     * @return whether the counters were halved (the sample was complete)
     */
    boolean increment(long key) {
        long hash = mix(key);
        int min = frequency(key);
        if (min < MAX_COUNT) {
            for (int row = 0; row < DEPTH; row++) {
                int slot = slot(hash, row);
                if (counters[slot] == min) {
                    counters[slot]++;
                }
            }
        }
        if (++additions >= sampleSize) {
            reset();
            return true;
        }
        return false;
    }

    private void reset() {
        for (int i = 0; i < counters.length; i++) {
            counters[i] >>>= 1;
        }
        additions = 0;
    }

    private int slot(long hash, int row) {
        int h1 = (int) hash;
        int h2 = (int) (hash >>> 32) | 1;
        return row * (widthMask + 1) + ((h1 + row * h2) & widthMask);
    }

    /** A 64-bit finalizer (MurmurHash3's fmix64) so that nearby keys spread over the rows. */
    private static long mix(long key) {
        long h = key;
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }
}
