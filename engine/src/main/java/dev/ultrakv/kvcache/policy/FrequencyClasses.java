package dev.ultrakv.kvcache.policy;

/**
 * Evictable entries grouped by use count, each group a list oldest first: the frequency order of
 * {@link AdaptivePolicy} in {@code O(1)} per change, as the constant-time LFU of Shah, Mitra and Matani (2010)
 * keeps it, instead of an ordered set of every entry.
 *
 * <p>Counts saturate at {@value #MAX_COUNT} and are halved together by {@link #halve}, which merges the classes
 * {@code 2k} and {@code 2k + 1} into {@code k} by age, in time linear in the entries listed. An entry's count is
 * halved lazily: it remembers the halving it was last brought up to date in ({@link BlockEntry#epoch}), so a
 * halving never visits pinned or inner entries.
 *
 * <p>Within a class an entry's place is its age ({@link BlockEntry#order}): one whose count rises goes to the
 * newest end, which its new tick is. One that becomes evictable again keeps its old tick, and is placed at the
 * oldest end when it is older than every entry of its class (a parent whose child was just evicted, the common
 * case), else at the newest end: the order among equals is then approximate, never the order between counts.
 */
final class FrequencyClasses {
    /** Highest count kept; the sketch's counters saturate at 15 and a cached block's uses rarely pass this. */
    static final int MAX_COUNT = 63;

    private final BlockEntry[] oldest = new BlockEntry[MAX_COUNT + 1];
    private final BlockEntry[] newest = new BlockEntry[MAX_COUNT + 1];
    /** Bit {@code c} is set when class {@code c} is not empty. */
    private long occupied;
    private int epoch;
    private int size;

    /** The count {@code entry} holds now, its halvings since it was last brought up to date applied. */
    int count(BlockEntry entry) {
        refresh(entry);
        return entry.frequency;
    }

    /** Sets the count of an entry that is not listed (a new entry, or one between {@link #remove} and add). */
    void setCount(BlockEntry entry, int count) {
        entry.frequency = Math.min(MAX_COUNT, Math.max(0, count));
        entry.epoch = epoch;
    }

    /** Lists an evictable entry in its count's class, by its age where that is cheap (see the class comment). */
    void add(BlockEntry entry) {
        refresh(entry);
        int c = entry.frequency;
        BlockEntry last = newest[c];
        BlockEntry first;
        // The newest end is the usual place (a new leaf), and the entry there was touched last: look at it first.
        if (last != null && entry.order < last.order && entry.order < (first = oldest[c]).order) {
            entry.older = null;
            entry.newer = first;
            first.older = entry;
            oldest[c] = entry;
        } else {
            appendNewest(entry, c);
        }
        size++;
    }

    /** Unlists an entry added before. */
    void remove(BlockEntry entry) {
        refresh(entry);
        int c = entry.frequency;
        BlockEntry older = entry.older;
        BlockEntry newer = entry.newer;
        if (older == null) {
            oldest[c] = newer;
        } else {
            older.newer = newer;
        }
        if (newer == null) {
            newest[c] = older;
        } else {
            newer.older = older;
        }
        if (oldest[c] == null) {
            occupied &= ~(1L << c);
        }
        entry.older = null;
        entry.newer = null;
        size--;
    }

    /** The oldest entry of the lowest count, or null when none is listed. */
    BlockEntry first() {
        return occupied == 0 ? null : oldest[Long.numberOfTrailingZeros(occupied)];
    }

    /** Halves every count: listed entries now, the others when next seen. */
    void halve() {
        epoch++;
        long wasOccupied = occupied;
        occupied = 0;
        for (int c = 0; c <= MAX_COUNT; c += 2) {
            BlockEntry even = (wasOccupied & (1L << c)) != 0 ? oldest[c] : null;
            BlockEntry odd = (wasOccupied & (1L << (c + 1))) != 0 ? oldest[c + 1] : null;
            oldest[c] = newest[c] = oldest[c + 1] = newest[c + 1] = null;
            mergeInto(c >>> 1, even, odd);
        }
    }

    /** Entries listed. */
    int size() {
        return size;
    }

    /** Checks that every listed entry sits in the class of its count, linked both ways; for invariant checks. */
    void checkLinks(String policy) {
        int seen = 0;
        for (int c = 0; c <= MAX_COUNT; c++) {
            Invariants.check(((occupied >>> c) & 1) == (oldest[c] == null ? 0 : 1),
                    "%s: class %d is marked %s", policy, c, oldest[c] == null ? "occupied" : "empty");
            BlockEntry previous = null;
            for (BlockEntry e = oldest[c]; e != null; previous = e, e = e.newer) {
                Invariants.check(e.older == previous && e.evictable && count(e) == c,
                        "%s: an entry of class %d is misplaced", policy, c);
                seen++;
            }
            Invariants.check(newest[c] == previous, "%s: class %d's newest end is wrong", policy, c);
        }
        Invariants.check(seen == size, "%s lists %d entries by count but counts %d", policy, seen, size);
    }

    /** Merges two lists, each oldest first, into class {@code c} (empty) by age. */
    private void mergeInto(int c, BlockEntry a, BlockEntry b) {
        while (a != null || b != null) {
            BlockEntry next;
            if (b == null || (a != null && a.order <= b.order)) {
                next = a;
                a = a.newer;
            } else {
                next = b;
                b = b.newer;
            }
            next.frequency >>>= 1;
            next.epoch = epoch;
            appendNewest(next, c);
        }
    }

    private void appendNewest(BlockEntry entry, int c) {
        BlockEntry last = newest[c];
        entry.newer = null;
        entry.older = last;
        if (last == null) {
            oldest[c] = entry;
            occupied |= 1L << c;
        } else {
            last.newer = entry;
        }
        newest[c] = entry;
    }

    /** Applies the halvings since the entry was last brought up to date. */
    private void refresh(BlockEntry entry) {
        int behind = epoch - entry.epoch;
        if (behind != 0) {
            entry.frequency = Integer.compareUnsigned(behind, Integer.SIZE) >= 0 ? 0 : entry.frequency >>> behind;
            entry.epoch = epoch;
        }
    }
}
