package dev.ultrakv.kvcache.policy;

/**
 * A count-min sketch of 4-bit saturating counters that estimates how often a key was referenced recently, in a
 * few bytes per cached block, remembering keys that are no longer cached. After a sample of
 * {@code 10 * capacity} references every counter is halved, so the estimate follows the recent popularity
 * (TinyLFU's reset: Einziger, Friedman and Manes, 2017, section 3.3).
 *
 * <p>Each key touches one counter in each of {@value #DEPTH} rows; the estimate is the smallest of them (it never
 * under-counts until a reset). Increments are conservative: only the counters equal to the current minimum grow,
 * which keeps collisions from inflating popular-looking keys.
 *
 * <h2>Layout</h2>
 * A key's four counters lie in one 64-byte block of the table, chosen by the key's hash (Caffeine's layout): a
 * reference costs one cache miss instead of one per row. The block is eight longs of sixteen 4-bit counters;
 * row {@code r} owns longs {@code 2r} and {@code 2r + 1}, and eight further bits of the hash pick the long and the
 * counter within it. A halving is one shift and mask per long.
 */
final class FrequencySketch {
    /** Rows of counters; four keeps the chance that all of a key's counters collide small. */
    static final int DEPTH = 4;
    /** Counters saturate here: 4 bits, enough to tell a scan (1) from a hot block, and quick to age out. */
    static final int MAX_COUNT = 15;
    /**
     * Counters per row per cached block. A sample of ten references per block spread over four counters per block
     * left most counters above zero, so a block never seen read as seen (a one-off looked reused); sixteen keep
     * most of them at zero, for 32 bytes per block.
     */
    static final int WIDTH_PER_BLOCK = 16;
    /** Blocks beyond which the table stops growing (32 MiB of counters): a bigger pool shares counters. */
    static final int MAX_SIZED_BLOCKS = 1 << 20;
    /** References per cached block between two halvings (TinyLFU's sample size). */
    static final int SAMPLE_PER_BLOCK = 10;
    /** Longs in a 64-byte block of the table, two per row. */
    private static final int LONGS_PER_BLOCK = 8;
    /** Counters one row has in a block: two longs of sixteen. */
    private static final int ROW_WIDTH_PER_BLOCK = 32;
    private static final long HALVE_MASK = 0x7777_7777_7777_7777L;

    private final long[] table;
    private final int blockMask;
    private final int sampleSize;
    private int additions;

    /** A sketch sized for a cache of {@code capacityBlocks}. */
    FrequencySketch(int capacityBlocks) {
        int blocks = Math.max(1, capacityBlocks);
        int wanted = Math.max(1, Math.min(MAX_SIZED_BLOCKS, blocks) * WIDTH_PER_BLOCK / ROW_WIDTH_PER_BLOCK);
        int tableBlocks = wanted == 1 ? 1 : Integer.highestOneBit(wanted - 1) << 1;
        table = new long[tableBlocks * LONGS_PER_BLOCK];
        blockMask = tableBlocks - 1;
        sampleSize = (int) Math.min(Integer.MAX_VALUE, (long) SAMPLE_PER_BLOCK * blocks);
    }

    /** The estimated recent references of {@code key}, from 0 to {@value #MAX_COUNT}. */
    int frequency(long key) {
        long hash = mix(key);
        return estimate(hash, blockBase(hash));
    }

    /**
     * Records one reference of {@code key}, and halves every counter when a sample is complete.
     *
     * @return whether the counters were halved (the sample was complete)
     */
    boolean increment(long key) {
        long hash = mix(key);
        int base = blockBase(hash);
        int min = estimate(hash, base);
        if (min < MAX_COUNT) {
            for (int row = 0; row < DEPTH; row++) {
                int select = select(hash, row);
                int at = base + longIndex(row, select);
                if (((int) (table[at] >>> shift(select)) & 0xF) == min) {
                    table[at] += 1L << shift(select);
                }
            }
        }
        if (++additions >= sampleSize) {
            reset();
            return true;
        }
        return false;
    }

    /** The smallest of the key's counters, given its hash and the first long of its block. */
    private int estimate(long hash, int base) {
        int min = MAX_COUNT;
        for (int row = 0; row < DEPTH; row++) {
            int select = select(hash, row);
            min = Math.min(min, (int) (table[base + longIndex(row, select)] >>> shift(select)) & 0xF);
        }
        return min;
    }

    private void reset() {
        for (int i = 0; i < table.length; i++) {
            table[i] = (table[i] >>> 1) & HALVE_MASK;
        }
        additions = 0;
    }

    /** The first long of the key's block: high bits of the hash, independent of the rows' selectors. */
    private int blockBase(long hash) {
        return ((int) (hash >>> 32) & blockMask) * LONGS_PER_BLOCK;
    }

    /** Eight bits of the low half of the hash per row: which of the row's two longs, and which counter in it. */
    private static int select(long hash, int row) {
        return (int) (hash >>> (row * 8)) & 0xFF;
    }

    private static int longIndex(int row, int select) {
        return 2 * row + (select & 1);
    }

    private static int shift(int select) {
        return ((select >>> 1) & 0xF) * 4;
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
