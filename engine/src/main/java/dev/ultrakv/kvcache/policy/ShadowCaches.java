package dev.ultrakv.kvcache.policy;

/**
 * Two what-if caches of block keys, one evicting by recency and one by frequency, fed the same references as the
 * real cache, that say which of the two orders would be hitting more now. The adaptive policy follows the winner.
 * This is set dueling (Qureshi et al., "Adaptive Insertion Policies for High Performance Caching", ISCA 2007): the
 * shadows hold keys only, and see every reference while the cache holds fewer than {@code 2 *}
 * {@value #SAMPLED_BLOCKS} blocks; a larger cache is judged on a sample, the keys whose hash falls in one part in
 * {@code 2^k} of the hash space, with shadows {@code 2^k} times smaller (each holds at least {@value #SAMPLED_BLOCKS}
 * keys), so a reference outside the sample costs one hash. A uniform sample of keys sees the same hit ratios as the
 * whole, as sampled sets do in a processor cache.
 *
 * <p>The duel is scored per block: each prompt reference a shadow holds scores one, so the verdict follows the
 * token hit rate. A block of generated tokens only, computed again, is fed to the shadows but scores nothing:
 * holding it saves no prompt tokens (it was being generated anyway), and counting it credited recency on workloads
 * that repeat prompts, which keeps such tails longest. (Scoring only the requests a shadow would serve whole was
 * tried and lost: questions over long documents are never served whole, so neither shadow scored and the verdict
 * stuck at its default; see docs/policies.md.)
 * Scores decay exponentially over {@value #MEMORY_PER_BLOCK} references per cached block, so the verdict follows
 * phase changes within a few cache turnovers. While the scores tie the verdict is frequency until the shadows first
 * disagree about a block (no evidence yet: TinyLFU's admission default) and recency afterwards.
 *
 * <h2>Layout</h2>
 * Both shadows share one table of slots: a key, its place in the recency list, its place in one of
 * {@value #MAX_COUNT}{@code + 1} frequency lists (one per count, oldest reference first) and its count, in
 * primitive arrays indexed by slot; an open-addressing index maps keys to slots. A reference is {@code O(1)} and
 * boxes nothing. Counts saturate at {@value #MAX_COUNT}, as the sketch's do, and are halved every
 * {@code 10 * capacity} references (LFU's ageing); a halving merges lists in count order, which keeps their
 * members' relative order only approximately.
 */
final class ShadowCaches {
    /** The smallest sampled shadow: caches of fewer than twice this many blocks feed the shadows every reference. */
    static final int SAMPLED_BLOCKS = 2048;
    /** References per cached block over which a shadow hit's score decays by {@code 1/e}. */
    static final int MEMORY_PER_BLOCK = 8;
    /** Highest count of the frequency shadow, the sketch's. */
    static final int MAX_COUNT = FrequencySketch.MAX_COUNT;
    /** Bit of {@link #reference}'s result: the recency shadow held the block. */
    static final int RECENCY_HIT = 1;
    /** Bit of {@link #reference}'s result: the frequency shadow held the block. */
    static final int FREQUENCY_HIT = 2;

    private static final int NONE = -1;

    private final int capacity;
    /** Keys are sampled when these bits of their hash's high half are zero: {@code 2^k - 1}, 0 for every key. */
    private final long sampleMask;
    private final double decay;
    private final int agePeriod;

    // Slots, 2 * capacity of them: a key is in one shadow, the other or both.
    private final long[] keys;
    private final byte[] member; // RECENCY_HIT | FREQUENCY_HIT bits
    private final byte[] count;
    private final int[] recencyPrevious;
    private final int[] recencyNext;
    private final int[] frequencyPrevious;
    private final int[] frequencyNext;
    private final int[] freeSlots;
    private int freeCount;

    /** Open-addressing index of slot + 1 (0 = empty) by key. */
    private final int[] index;
    private final int indexMask;

    private int recencyHead = NONE;
    private int recencyTail = NONE;
    private int recencySize;
    private final int[] bucketHead = new int[MAX_COUNT + 1];
    private final int[] bucketTail = new int[MAX_COUNT + 1];
    private int frequencySize;

    private int referencesSinceAgeing;
    private double recencyScore;
    private double frequencyScore;
    private boolean disagreed;

    ShadowCaches(int capacityBlocks) {
        int blocks = Math.max(1, capacityBlocks);
        int sampleShift = blocks < 2 * SAMPLED_BLOCKS ? 0
                : 31 - Integer.numberOfLeadingZeros(blocks / SAMPLED_BLOCKS);
        this.sampleMask = (1L << sampleShift) - 1;
        this.capacity = Math.ceilDiv(blocks, 1 << sampleShift);
        this.decay = 1.0 - 1.0 / ((double) MEMORY_PER_BLOCK * capacity);
        this.agePeriod = LfuPolicy.agePeriodFor(capacity);
        int slots = 2 * capacity;
        keys = new long[slots];
        member = new byte[slots];
        count = new byte[slots];
        recencyPrevious = new int[slots];
        recencyNext = new int[slots];
        frequencyPrevious = new int[slots];
        frequencyNext = new int[slots];
        freeSlots = new int[slots];
        for (int i = 0; i < slots; i++) {
            freeSlots[i] = slots - 1 - i;
        }
        freeCount = slots;
        int indexSize = Integer.highestOneBit(Math.max(2, slots * 2) - 1) << 1;
        index = new int[indexSize];
        indexMask = indexSize - 1;
        java.util.Arrays.fill(bucketHead, NONE);
        java.util.Arrays.fill(bucketTail, NONE);
    }

    /**
     * Feeds one reference of a block to both shadows and scores the shadows that held it.
     *
     * @param scored whether a hit counts: the block holds prompt tokens (a lookup, or a computed prompt block)
     * @return which shadows held the block: {@link #RECENCY_HIT} and {@link #FREQUENCY_HIT} bits; 0 for a key
     *         outside the sample or a reference that is not scored
     */
    int reference(long key, boolean scored) {
        if (((hash(key) >>> 32) & sampleMask) != 0) {
            return 0;
        }
        recencyScore *= decay;
        frequencyScore *= decay;
        int slot = find(key);
        int held = slot == NONE ? 0 : member[slot];
        if (slot == NONE) {
            slot = allocate(key);
        }
        if ((held & RECENCY_HIT) != 0) {
            unlinkRecency(slot);
        } else {
            if (recencySize == capacity) {
                dropFromRecency(recencyHead);
            }
            member[slot] |= RECENCY_HIT;
            recencySize++;
        }
        appendRecency(slot);
        if ((held & FREQUENCY_HIT) != 0) {
            unlinkFrequency(slot);
            count[slot] = (byte) Math.min(MAX_COUNT, count[slot] + 1);
        } else {
            if (frequencySize == capacity) {
                dropFromFrequency(rarest());
            }
            member[slot] |= FREQUENCY_HIT;
            count[slot] = 1;
            frequencySize++;
        }
        appendFrequency(slot);
        if (++referencesSinceAgeing >= agePeriod) {
            referencesSinceAgeing = 0;
            age();
        }
        if (!scored) {
            return 0;
        }
        if ((held & RECENCY_HIT) != 0) {
            recencyScore++;
        }
        if ((held & FREQUENCY_HIT) != 0) {
            frequencyScore++;
        }
        if (held == RECENCY_HIT || held == FREQUENCY_HIT) {
            disagreed = true;
        }
        return held;
    }

    /**
     * Whether the recency shadow is hitting more than the frequency shadow now; on a tie, whether the shadows have
     * ever disagreed about a block.
     */
    boolean recencyLeads() {
        return recencyScore != frequencyScore ? recencyScore > frequencyScore : disagreed;
    }

    /** The decayed hit scores of the recency and frequency shadows. */
    double[] scores() {
        return new double[] {recencyScore, frequencyScore};
    }

    /** Keys held by the recency and the frequency shadow. */
    int[] sizes() {
        return new int[] {recencySize, frequencySize};
    }

    /** The oldest key of the lowest count. */
    private int rarest() {
        for (int c = 0; c <= MAX_COUNT; c++) {
            if (bucketHead[c] != NONE) {
                return bucketHead[c];
            }
        }
        throw new IllegalStateException("the frequency shadow is empty");
    }

    /** Halves every count, merging the lists in count order. */
    private void age() {
        int[] oldHead = bucketHead.clone();
        java.util.Arrays.fill(bucketHead, NONE);
        java.util.Arrays.fill(bucketTail, NONE);
        for (int c = 0; c <= MAX_COUNT; c++) {
            for (int slot = oldHead[c]; slot != NONE; ) {
                int next = frequencyNext[slot];
                count[slot] = (byte) (count[slot] >>> 1);
                appendFrequency(slot);
                slot = next;
            }
        }
    }

    private void dropFromRecency(int slot) {
        unlinkRecency(slot);
        member[slot] &= ~RECENCY_HIT;
        recencySize--;
        releaseIfUnused(slot);
    }

    private void dropFromFrequency(int slot) {
        unlinkFrequency(slot);
        member[slot] &= ~FREQUENCY_HIT;
        frequencySize--;
        releaseIfUnused(slot);
    }

    private void appendRecency(int slot) {
        recencyPrevious[slot] = recencyTail;
        recencyNext[slot] = NONE;
        if (recencyTail == NONE) {
            recencyHead = slot;
        } else {
            recencyNext[recencyTail] = slot;
        }
        recencyTail = slot;
    }

    private void unlinkRecency(int slot) {
        int previous = recencyPrevious[slot];
        int next = recencyNext[slot];
        if (previous == NONE) {
            recencyHead = next;
        } else {
            recencyNext[previous] = next;
        }
        if (next == NONE) {
            recencyTail = previous;
        } else {
            recencyPrevious[next] = previous;
        }
    }

    private void appendFrequency(int slot) {
        int c = count[slot];
        frequencyPrevious[slot] = bucketTail[c];
        frequencyNext[slot] = NONE;
        if (bucketTail[c] == NONE) {
            bucketHead[c] = slot;
        } else {
            frequencyNext[bucketTail[c]] = slot;
        }
        bucketTail[c] = slot;
    }

    private void unlinkFrequency(int slot) {
        int c = count[slot];
        int previous = frequencyPrevious[slot];
        int next = frequencyNext[slot];
        if (previous == NONE) {
            bucketHead[c] = next;
        } else {
            frequencyNext[previous] = next;
        }
        if (next == NONE) {
            bucketTail[c] = previous;
        } else {
            frequencyPrevious[next] = previous;
        }
    }

    private int allocate(long key) {
        int slot = freeSlots[--freeCount];
        keys[slot] = key;
        member[slot] = 0;
        int at = home(key);
        while (index[at] != 0) {
            at = (at + 1) & indexMask;
        }
        index[at] = slot + 1;
        return slot;
    }

    private void releaseIfUnused(int slot) {
        if (member[slot] != 0) {
            return;
        }
        int at = home(keys[slot]);
        while (index[at] != slot + 1) {
            at = (at + 1) & indexMask;
        }
        // Linear probing deletion: shift later entries of the probe run back into the hole.
        int hole = at;
        for (int next = (hole + 1) & indexMask; index[next] != 0; next = (next + 1) & indexMask) {
            int want = home(keys[index[next] - 1]);
            boolean movable = hole <= next ? (want <= hole || want > next) : (want <= hole && want > next);
            if (movable) {
                index[hole] = index[next];
                hole = next;
            }
        }
        index[hole] = 0;
        freeSlots[freeCount++] = slot;
    }

    private int find(long key) {
        for (int at = home(key); index[at] != 0; at = (at + 1) & indexMask) {
            int slot = index[at] - 1;
            if (keys[slot] == key) {
                return slot;
            }
        }
        return NONE;
    }

    private int home(long key) {
        return (int) hash(key) & indexMask;
    }

    private static long hash(long key) {
        long h = key * 0x9e3779b97f4a7c15L;
        return h ^ (h >>> 32);
    }
}
