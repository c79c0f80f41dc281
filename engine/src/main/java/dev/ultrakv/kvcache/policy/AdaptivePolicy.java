package dev.ultrakv.kvcache.policy;

import java.util.Comparator;
import java.util.LinkedHashSet;
import java.util.TreeSet;

/**
 * Adapts between recency and frequency to the workload and weighs what a block costs to recompute: W-TinyLFU's
 * structure (Einziger, Eytan, Friedman and Manes, "Adaptive Software Cache Management", Middleware 2018, as in
 * Caffeine) with its window sized by ARC-style ghost hits (Megiddo and Modha, FAST 2003).
 *
 * <h2>Segments</h2>
 * New blocks enter a <em>window</em> ordered by recency. The rest of the cache is the <em>main</em> space, a
 * segmented LRU: a block that enters main goes to <em>probation</em> and moves to <em>protected</em> when it is
 * reused there; protected is held to {@value #PROTECTED_SHARE} of main by demoting its least recent block back
 * to probation. Every cached block (pinned and inner ones too) counts towards its segment's size, but only
 * evictable blocks (unpinned leaves) may be chosen.
 *
 * <h2>Admission</h2>
 * When a block must go and the window is over its target, the window's least recent evictable block (the
 * candidate) duels main's least recent evictable block (the victim, from probation, else protected). The
 * candidate enters main, and the victim is evicted, only if its weight is strictly greater; otherwise the new
 * block is the one freed. A block's weight is its estimated recent frequency, from a {@link FrequencySketch} that
 * remembers blocks no longer cached, times its recomputation cost. One-off blocks (a scan) thus leave before
 * anything that has been reused, which is what makes the policy scan resistant; in a prefix cache this is
 * "refusing" a newly computed block: it is freed first instead of displacing a popular one.
 *
 * <h2>Recomputation cost</h2>
 * Rebuilding a block costs its tokens' dense layers plus their attention over the whole context before them, so
 * a block deep in a long prefix costs more. The weight uses {@code 1 + context / COST_SCALE_TOKENS}, where
 * {@code context = depth * tokensPerBlock} and {@link #COST_SCALE_TOKENS} is the context at which a token's
 * attention costs about as much as its dense layers.
 *
 * <h2>Adaptation</h2>
 * The window's target size moves with ghost hits, as ARC moves its recency target: the keys of recently evicted
 * blocks are remembered in two bounded ghost lists, one for blocks evicted from the window and one for blocks
 * evicted from main. When a block is computed again (a miss) and its key is a window ghost, a bigger window would
 * have kept it: the target grows. When it is a main ghost, main was too small: the target shrinks. The step is
 * ARC's: one block, or the ratio of the two ghost lists' sizes when that is larger. Unlike Caffeine's hill climber,
 * which samples the hit rate every {@code 10 * capacity} references, ghosts react on each miss, which suits short
 * traces and small caches.
 */
public final class AdaptivePolicy implements EvictionPolicy {
    /** Context length in tokens at which attention costs about as much as a token's dense layers (1B-class). */
    public static final int COST_SCALE_TOKENS = 8192;
    /** Share of main kept for blocks reused while in main (Caffeine's 80%). */
    static final double PROTECTED_SHARE = 0.8;
    /** Initial window target as a share of the capacity; ghosts move it from there. */
    static final double INITIAL_WINDOW_SHARE = 0.1;

    static final int WINDOW = 0;
    static final int PROBATION = 1;
    static final int PROTECTED = 2;

    private final int capacity;
    private final int tokensPerBlock;
    private final FrequencySketch sketch;
    private final Segment[] segments = {new Segment(), new Segment(), new Segment()};
    private final GhostList windowGhosts;
    private final GhostList mainGhosts;
    private double windowTarget;
    private long tick;

    /**
     * @param capacityBlocks blocks the cache can hold; sizes the sketch, the ghost lists and the segments
     * @param tokensPerBlock real tokens a block stands for, for the recomputation cost
     */
    public AdaptivePolicy(int capacityBlocks, int tokensPerBlock) {
        if (capacityBlocks <= 0 || tokensPerBlock <= 0) {
            throw new IllegalArgumentException("capacity and tokens per block must be positive: " + capacityBlocks
                    + ", " + tokensPerBlock);
        }
        this.capacity = capacityBlocks;
        this.tokensPerBlock = tokensPerBlock;
        this.sketch = new FrequencySketch(capacityBlocks);
        this.windowGhosts = new GhostList(capacityBlocks);
        this.mainGhosts = new GhostList(capacityBlocks);
        this.windowTarget = Math.max(1, capacityBlocks * INITIAL_WINDOW_SHARE);
    }

    @Override
    public PolicyKind kind() {
        return PolicyKind.ADAPTIVE;
    }

    /** The window's current target size in blocks. */
    public double windowTarget() {
        return windowTarget;
    }

    /** The sketch's estimate of how often {@code entry}'s content was referenced recently. */
    public int estimatedFrequency(BlockEntry entry) {
        return sketch.frequency(entry.key());
    }

    /** How much {@code entry} costs to recompute, relative to a block with no context before it. */
    public double recomputationCost(BlockEntry entry) {
        return 1.0 + (double) entry.depth() * tokensPerBlock / COST_SCALE_TOKENS;
    }

    @Override
    public void onInsert(BlockEntry entry) {
        sketch.increment(entry.key());
        adaptToGhostHit(entry.key());
        entry.evictable = false;
        add(entry, WINDOW);
    }

    private void adaptToGhostHit(long key) {
        double maxWindow = capacity - 1.0;
        if (windowGhosts.remove(key)) {
            windowTarget = Math.min(maxWindow, windowTarget + Math.max(1.0, mainGhosts.ratioTo(windowGhosts)));
        } else if (mainGhosts.remove(key)) {
            windowTarget = Math.max(1.0, windowTarget - Math.max(1.0, windowGhosts.ratioTo(mainGhosts)));
        }
    }

    @Override
    public void onAccess(BlockEntry entry) {
        sketch.increment(entry.key());
        switch (entry.segment) {
            case PROBATION -> {
                move(entry, PROTECTED);
                demoteProtectedOverflow();
            }
            default -> move(entry, entry.segment);
        }
    }

    private void demoteProtectedOverflow() {
        double protectedTarget = PROTECTED_SHARE * (capacity - windowTarget);
        Segment protectedSegment = segments[PROTECTED];
        while (protectedSegment.size() > protectedTarget) {
            move(protectedSegment.oldestMember(), PROBATION);
        }
    }

    @Override
    public void onEvictable(BlockEntry entry) {
        entry.evictable = true;
        segments[entry.segment].evictable.add(entry);
    }

    @Override
    public void onUnevictable(BlockEntry entry) {
        segments[entry.segment].evictable.remove(entry);
        entry.evictable = false;
    }

    @Override
    public void onRemove(BlockEntry entry) {
        segments[entry.segment].remove(entry);
        entry.evictable = false;
    }

    @Override
    public BlockEntry selectVictim() {
        Segment window = segments[WINDOW];
        while (true) {
            BlockEntry candidate = null;
            while (window.size() > windowTarget) {
                BlockEntry oldest = window.oldestMember();
                if (oldest.evictable) {
                    candidate = oldest;
                    break;
                }
                move(oldest, PROBATION); // cannot be evicted now, so it needs no admission
            }
            BlockEntry victim = mainVictim();
            if (candidate == null) {
                if (victim != null) {
                    return evicting(victim, mainGhosts);
                }
                BlockEntry oldestInWindow = window.oldestEvictable();
                return oldestInWindow == null ? null : evicting(oldestInWindow, windowGhosts);
            }
            if (victim == null || admit(candidate, victim)) {
                move(candidate, PROBATION);
                if (victim != null) {
                    return evicting(victim, mainGhosts);
                }
                continue; // main had nothing to lose: the candidate entered for free
            }
            return evicting(candidate, windowGhosts);
        }
    }

    private BlockEntry mainVictim() {
        BlockEntry victim = segments[PROBATION].oldestEvictable();
        return victim != null ? victim : segments[PROTECTED].oldestEvictable();
    }

    /** TinyLFU's duel, weighted by cost: the candidate wins only with a strictly greater weight. */
    private boolean admit(BlockEntry candidate, BlockEntry victim) {
        return weight(candidate) > weight(victim);
    }

    private double weight(BlockEntry entry) {
        return estimatedFrequency(entry) * recomputationCost(entry);
    }

    private BlockEntry evicting(BlockEntry entry, GhostList ghosts) {
        ghosts.add(entry.key());
        return entry;
    }

    private void add(BlockEntry entry, int segment) {
        entry.segment = segment;
        entry.order = ++tick;
        segments[segment].add(entry);
    }

    private void move(BlockEntry entry, int segment) {
        segments[entry.segment].remove(entry);
        add(entry, segment);
    }

    @Override
    public int size() {
        return segments[WINDOW].size() + segments[PROBATION].size() + segments[PROTECTED].size();
    }

    @Override
    public void checkInvariants(int expectedSize, int expectedEvictable) {
        Invariants.check(size() == expectedSize, "ADAPTIVE holds %d entries, the index %d", size(), expectedSize);
        int evictable = 0;
        for (int s = 0; s < segments.length; s++) {
            for (BlockEntry entry : segments[s].members) {
                Invariants.check(entry.segment == s, "ADAPTIVE entry in segment %d says %d", s, entry.segment);
                Invariants.check(entry.evictable == segments[s].evictable.contains(entry),
                        "ADAPTIVE evictable mark and order disagree in segment %d", s);
            }
            Invariants.check(segments[s].members.containsAll(segments[s].evictable),
                    "ADAPTIVE orders an evictable entry outside its segment %d", s);
            evictable += segments[s].evictable.size();
        }
        Invariants.check(evictable == expectedEvictable, "ADAPTIVE orders %d evictable entries, the index has %d",
                evictable, expectedEvictable);
        Invariants.check(windowTarget >= 1 && windowTarget <= Math.max(1, capacity - 1),
                "ADAPTIVE window target %.1f outside [1, %d]", windowTarget, capacity - 1);
    }

    /** One segment: all its members and its evictable members, each in order of last use. */
    private static final class Segment {
        private static final Comparator<BlockEntry> BY_ORDER = Comparator.comparingLong(e -> e.order);
        final TreeSet<BlockEntry> members = new TreeSet<>(BY_ORDER);
        final TreeSet<BlockEntry> evictable = new TreeSet<>(BY_ORDER);

        int size() {
            return members.size();
        }

        void add(BlockEntry entry) {
            members.add(entry);
            if (entry.evictable) {
                evictable.add(entry);
            }
        }

        void remove(BlockEntry entry) {
            members.remove(entry);
            evictable.remove(entry);
        }

        BlockEntry oldestMember() {
            return members.first();
        }

        BlockEntry oldestEvictable() {
            return evictable.isEmpty() ? null : evictable.first();
        }
    }

    /** Keys of recently evicted blocks, oldest forgotten first, at most one cache's worth. */
    private static final class GhostList {
        private final int limit;
        private final LinkedHashSet<Long> keys = new LinkedHashSet<>();

        GhostList(int limit) {
            this.limit = limit;
        }

        void add(long key) {
            keys.remove(key);
            keys.add(key);
            if (keys.size() > limit) {
                keys.removeFirst();
            }
        }

        boolean remove(long key) {
            return keys.remove(key);
        }

        /** This list's size over the other's, ARC's adaptation step. */
        double ratioTo(GhostList other) {
            return (double) keys.size() / Math.max(1, other.keys.size());
        }
    }
}
