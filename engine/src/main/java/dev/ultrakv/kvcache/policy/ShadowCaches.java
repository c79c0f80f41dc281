package dev.ultrakv.kvcache.policy;

import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeSet;

/**
 * Two small what-if caches of block keys, one evicting by recency and one by frequency, fed the same references as
 * the real cache, that say which of the two orders would be serving more requests now. The adaptive policy follows
 * the winner. This is set dueling (Qureshi et al., "Adaptive Insertion Policies for High Performance Caching", ISCA
 * 2007) with whole shadow directories instead of sampled sets, which small caches afford: they hold keys only.
 *
 * <p>The duel is scored per request, not per block: when a request's prompt ends, a shadow that held the block
 * with its last prompt token would have served the whole prompt, and scores the recomputation that saves. Block
 * hits are a poor proxy in a prefix cache: an order can keep more blocks deep inside long shared prefixes and yet
 * lose the complete prompts, which are what a full hit needs. Scores decay exponentially over
 * {@value #MEMORY_PER_BLOCK} references per cached block, so the verdict follows phase changes within a few cache
 * turnovers. While the scores tie the verdict is frequency until the shadows first disagree about a block (no
 * evidence yet: TinyLFU's admission default) and recency afterwards (the orders differ, but not in whole prompts
 * served; recency keeps recent prompts complete).
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
    private boolean disagreed;

    ShadowCaches(int capacityBlocks) {
        this.capacity = capacityBlocks;
        this.decay = 1.0 - 1.0 / ((double) MEMORY_PER_BLOCK * capacityBlocks);
        this.agePeriod = LfuPolicy.agePeriodFor(capacityBlocks);
    }

    /** Bit of {@link #reference}'s result: the recency shadow held the block. */
    static final int RECENCY_HIT = 1;
    /** Bit of {@link #reference}'s result: the frequency shadow held the block. */
    static final int FREQUENCY_HIT = 2;

    /**
     * Feeds one reference of a block to both shadows.
     *
     * @return which shadows held the block: {@link #RECENCY_HIT} and {@link #FREQUENCY_HIT} bits
     */
    int reference(long key) {
        tick++;
        recencyScore *= decay;
        frequencyScore *= decay;
        int hits = 0;
        if (recent.get(key) != null) {
            hits |= RECENCY_HIT;
        } else {
            recent.put(key, Boolean.TRUE);
            if (recent.size() > capacity) {
                recent.pollFirstEntry();
            }
        }
        Counted entry = counted.get(key);
        if (entry != null) {
            hits |= FREQUENCY_HIT;
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
        if (hits == RECENCY_HIT || hits == FREQUENCY_HIT) {
            disagreed = true;
        }
        return hits;
    }

    /**
     * A request's prompt ended in a block whose last reference found {@code hits} (bits of {@link #reference}): a
     * shadow that held it would have served the whole prompt from cache, and scores {@code weight}.
     */
    void promptEnd(int hits, double weight) {
        if ((hits & RECENCY_HIT) != 0) {
            recencyScore += weight;
        }
        if ((hits & FREQUENCY_HIT) != 0) {
            frequencyScore += weight;
        }
    }

    /**
     * Whether the recency shadow is serving more requests than the frequency shadow now; on a tie, whether the
     * shadows have ever disagreed about a block.
     */
    boolean recencyLeads() {
        return recencyScore != frequencyScore ? recencyScore > frequencyScore : disagreed;
    }

    /** The decayed request-hit scores of the recency and frequency shadows. */
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
