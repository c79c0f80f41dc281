package dev.ultrakv.kvcache.policy;

import java.util.Comparator;

/**
 * Adapts between recency and frequency to the workload and remembers popularity beyond residence. Two orders
 * name a victim among the unpinned leaves, and the policy follows whichever would be hitting more blocks now:
 * <ul>
 *   <li><em>recency</em>: the least recently used leaf (LRU);</li>
 *   <li><em>frequency</em>: the leaf with the fewest uses, oldest first among equals, where a block's count
 *       starts from a TinyLFU {@link FrequencySketch} estimate of how often its prefix was asked for recently,
 *       cached or not, and all counts are halved with the sketch (ageing). Counts saturate at
 *       {@value FrequencyClasses#MAX_COUNT} and each count is one list ({@link FrequencyClasses}), so this order
 *       costs {@code O(1)} a change and a halving touches only the evictable entries. There is no admission
 *       window: W-TinyLFU's 1% window of the newest blocks cost up to 2.3 points of token hit rate at 1% of the
 *       working set (zipf, hot set with scans) and two more ordered sets to keep.</li>
 * </ul>
 *
 * <h2>Admission (scan resistance)</h2>
 * A block computed for the first time in a while starts with a count of 1. While the frequency order leads, it
 * is evicted before any block reused more often: in a prefix cache that is
 * TinyLFU's refusal of a new entry whose frequency is below the victim's, so a burst of one-off prompts (a scan)
 * passes through a few blocks of the cache instead of flushing it. A prompt that comes back wins its place at
 * once: the sketch remembers that it was asked for, which in-cache LFU forgets. Only blocks holding prompt tokens
 * count as asked for; blocks of generated tokens are cached but, until a later prompt reuses them, not counted.
 *
 * <h2>Adaptation</h2>
 * {@link ShadowCaches} replays every reference through a what-if LRU and a what-if LFU of the same size that hold
 * keys only (primitive arrays, {@code O(1)} a reference), and scores each block reference a shadow holds, with a
 * decay of a few cache turnovers. When the two orders disagree about the victim, the policy follows the order whose
 * shadow scores higher: recency for conversational and bursty reuse, frequency for stable popularity and scans.
 * This is ARC's idea (Megiddo and Modha, FAST 2003) of letting ghost entries steer the balance, measured directly
 * as set dueling does (Qureshi et al., ISCA 2007); see docs/policies.md for the alternatives tried and their
 * figures.
 *
 * <h2>Recomputation cost</h2>
 * {@link #recomputationCost} states what rebuilding a block costs relative to one with no context before it
 * ({@code 1 + depth * tokensPerBlock / COST_SCALE_TOKENS}); it is reported, not used to order: weighing the
 * order or the duel by it kept deep tails at the expense of complete prompts (docs/policies.md).
 *
 * <p>All decisions are deterministic; recency is a tick, never the wall clock.
 */
public final class AdaptivePolicy implements EvictionPolicy {
    /** Context length in tokens at which attention costs about as much as a token's dense layers (1B-class). */
    public static final int COST_SCALE_TOKENS = 8192;
    private static final Comparator<BlockEntry> BY_RECENCY = Comparator.comparingLong(e -> e.order);

    private final int tokensPerBlock;
    private final FrequencySketch sketch;
    private final ShadowCaches shadows;
    /** Every evictable entry, by recency: LRU's order and bookkeeping. */
    private final EvictableOrder byRecency = new EvictableOrder(BY_RECENCY);
    /** Every evictable entry, by count then age. */
    private final FrequencyClasses byFrequency = new FrequencyClasses();
    private int size;
    private long tick;
    private long recencyDecisions;
    private long frequencyDecisions;

    /**
     * @param capacityBlocks blocks the cache can hold; sizes the sketch and the shadows
     * @param tokensPerBlock real tokens a block stands for, for the recomputation cost
     */
    public AdaptivePolicy(int capacityBlocks, int tokensPerBlock) {
        if (capacityBlocks <= 0 || tokensPerBlock <= 0) {
            throw new IllegalArgumentException("capacity and tokens per block must be positive: " + capacityBlocks
                    + ", " + tokensPerBlock);
        }
        this.tokensPerBlock = tokensPerBlock;
        this.sketch = new FrequencySketch(capacityBlocks);
        this.shadows = new ShadowCaches(capacityBlocks);
    }

    @Override
    public PolicyKind kind() {
        return PolicyKind.ADAPTIVE;
    }

    /** Whether the recency order leads now (else the frequency order does). */
    public boolean recencyLeads() {
        return shadows.recencyLeads();
    }

    /**
     * Evictions where the two orders disagreed, by the order followed: {@code {recency, frequency}}.
     */
    public long[] decisions() {
        return new long[] {recencyDecisions, frequencyDecisions};
    }

    /** The sketch's estimate of how often {@code entry}'s prefix was asked for recently (0 to 15). */
    public int estimatedFrequency(BlockEntry entry) {
        return sketch.frequency(entry.key());
    }

    /** The use count the frequency order ranks {@code entry} by. */
    public int frequency(BlockEntry entry) {
        return byFrequency.count(entry);
    }

    /** How much {@code entry} costs to recompute, relative to a block with no context before it. */
    public double recomputationCost(BlockEntry entry) {
        return 1.0 + (double) entry.depth() * tokensPerBlock / COST_SCALE_TOKENS;
    }

    @Override
    public void onInsert(BlockEntry entry, boolean requested) {
        shadows.reference(entry.key(), requested);
        entry.evictable = false;
        if (requested && sketch.increment(entry.key())) {
            byFrequency.halve();
        }
        entry.order = ++tick;
        byFrequency.setCount(entry, Math.max(1, sketch.frequency(entry.key())));
        size++;
    }

    @Override
    public void onAccess(BlockEntry entry) {
        shadows.reference(entry.key(), true);
        boolean queued = byRecency.unlink(entry);
        if (queued) {
            byFrequency.remove(entry);
        }
        if (sketch.increment(entry.key())) {
            byFrequency.halve();
        }
        entry.order = ++tick;
        byFrequency.setCount(entry, byFrequency.count(entry) + 1);
        if (queued) {
            byRecency.relink(entry, true);
            byFrequency.add(entry);
        }
    }

    @Override
    public void onEvictable(BlockEntry entry) {
        byRecency.add(entry);
        byFrequency.add(entry);
    }

    @Override
    public void onUnevictable(BlockEntry entry) {
        byRecency.remove(entry);
        byFrequency.remove(entry);
    }

    @Override
    public void onRemove(BlockEntry entry) {
        if (entry.evictable) {
            onUnevictable(entry);
        }
        size--;
    }

    @Override
    public BlockEntry selectVictim() {
        BlockEntry oldest = byRecency.first();
        if (oldest == null) {
            return null;
        }
        BlockEntry rarest = byFrequency.first();
        if (oldest == rarest) {
            return oldest;
        }
        if (shadows.recencyLeads()) {
            recencyDecisions++;
            return oldest;
        }
        frequencyDecisions++;
        return rarest;
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public void checkInvariants(int expectedSize, int expectedEvictable) {
        Invariants.check(size == expectedSize, "ADAPTIVE holds %d entries, the index %d", size, expectedSize);
        Invariants.check(byRecency.size() == expectedEvictable && byFrequency.size() == expectedEvictable,
                "ADAPTIVE orders %d by recency and %d by frequency, the index has %d evictable", byRecency.size(),
                byFrequency.size(), expectedEvictable);
        byRecency.checkEach(entry -> true, "ADAPTIVE orders by recency an entry not marked evictable");
        byFrequency.checkLinks("ADAPTIVE");
    }
}
