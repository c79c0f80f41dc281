package dev.ultrakv.kvcache.policy;

import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;

/**
 * Two small what-if caches of block keys, one evicting by recency and one by frequency, fed the same references as
 * the real cache, that say which of the two orders would be hitting more now. The adaptive policy follows the
 * winner. This is set dueling (Qureshi et al., "Adaptive Insertion Policies for High Performance Caching", ISCA
 * 2007) with whole shadow directories instead of sampled sets, which small caches afford: they hold keys only.
 *
 * <p>The shadows are flat (they may drop a block whose children they keep), so they judge the two orders, not
 * the exact tree. A hit scores the block's weight (its recomputation cost), decayed exponentially over
 * {@value #MEMORY_PER_BLOCK} references per cached block, so the verdict follows phase changes within a few cache
 * turnovers.
 */
final class ShadowCaches {
    /** References per cached block over which a shadow hit's score decays by {@code 1/e}. */
    static final int MEMORY_PER_BLOCK = 8;

    private final int capacity;
    private final double decay;
    private final LinkedHashMap<Long, Boolean> recent = new LinkedHashMap<>(16, 0.75f, true);
    private final Map<Long, Counted> counted = new HashMap<>();
    private final TreeSet<Counted> byCount = new TreeSet<>(
            Comparator.<Counted>comparingInt(c -> c.count).thenComparingLong(c -> c.order));
    private final int agePeriod;
    private int referencesSinceAgeing;
    private long tick;
    private double recencyScore;
    private double frequencyScore;

    ShadowCaches(int capacityBlocks) {
        this.capacity = capacityBlocks;
        this.decay = 1.0 - 1.0 / ((double) MEMORY_PER_BLOCK * capacityBlocks);
        this.agePeriod = LfuPolicy.agePeriodFor(capacityBlocks);
    }

    /** Feeds one reference of a block to both shadows; a hit in a shadow scores {@code weight}. */
    void reference(long key, double weight) {
        tick++;
        recencyScore *= decay;
        frequencyScore *= decay;
        if (recent.get(key) != null) {
            recencyScore += weight;
        } else {
            recent.put(key, Boolean.TRUE);
            if (recent.size() > capacity) {
                recent.pollFirstEntry();
            }
        }
        Counted entry = counted.get(key);
        if (entry != null) {
            frequencyScore += weight;
            byCount.remove(entry);
            entry.count++;
        } else {
            entry = new Counted(key);
            counted.put(key, entry);
            if (counted.size() > capacity) {
                Counted victim = byCount.pollFirst();
                counted.remove(victim.key);
            }
        }
        entry.order = tick;
        byCount.add(entry);
        if (++referencesSinceAgeing >= agePeriod) {
            referencesSinceAgeing = 0;
            byCount.clear();
            for (Counted c : counted.values()) {
                c.count >>>= 1;
                byCount.add(c);
            }
        }
    }

    /** Whether the recency shadow is hitting more than the frequency shadow now (ties go to frequency). */
    boolean recencyLeads() {
        return recencyScore > frequencyScore;
    }

    /** The decayed hit scores of the recency and frequency shadows. */
    double[] scores() {
        return new double[] {recencyScore, frequencyScore};
    }

    private static final class Counted {
        final long key;
        int count = 1;
        long order;

        Counted(long key) {
            this.key = key;
        }
    }
}
