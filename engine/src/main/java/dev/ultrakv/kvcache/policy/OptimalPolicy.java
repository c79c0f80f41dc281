package dev.ultrakv.kvcache.policy;

import java.util.Comparator;
import java.util.Objects;

/**
 * Belady's offline optimum under the prefix cache's rules: of the unpinned leaves, evict the one whose block is
 * used again furthest in the future (never again first). It reads the future from a {@link NextUse} oracle, so
 * only a replay of a known trace can run it; it is the reference the online policies are measured against.
 *
 * <p>Pins and the leaf rule bind it as they bind every policy, so it is the best choice among the same candidates,
 * not the unconstrained optimum of a flat cache. Ties (blocks never used again, or used by the same request) go to
 * the least recently touched block.
 */
public final class OptimalPolicy implements EvictionPolicy {

    /** What the replay knows about the future. */
    @FunctionalInterface
    public interface NextUse {
        /** Returned by {@link #after} for a block no later request uses. */
        long NEVER = Long.MAX_VALUE;

        /**
         * The position (request number) of the next request after the current one that uses the block with
         * {@code key}, or {@link #NEVER}.
         */
        long after(long key);
    }

    /** Furthest next use first; among equals the least recently touched. */
    private static final Comparator<BlockEntry> FURTHEST_FIRST = Comparator.<BlockEntry>comparingLong(e -> -e.order)
            .thenComparingInt(e -> e.frequency);

    private final NextUse nextUse;
    private final EvictableOrder evictable = new EvictableOrder(FURTHEST_FIRST);
    private int touches;
    private int size;

    /** An empty policy that reads each block's next use from {@code nextUse}. */
    public OptimalPolicy(NextUse nextUse) {
        this.nextUse = Objects.requireNonNull(nextUse, "nextUse");
    }

    @Override
    public PolicyKind kind() {
        return PolicyKind.OPTIMAL;
    }

    @Override
    public void onInsert(BlockEntry entry, boolean requested) {
        size++;
        touch(entry);
    }

    @Override
    public void onAccess(BlockEntry entry) {
        boolean queued = evictable.unlink(entry);
        touch(entry);
        evictable.relink(entry, queued);
    }

    /** Records the entry's next use ({@code order}) and a tie-breaking touch count ({@code frequency}). */
    private void touch(BlockEntry entry) {
        entry.order = nextUse.after(entry.key());
        entry.frequency = ++touches;
    }

    @Override
    public void onEvictable(BlockEntry entry) {
        // The clock has moved since the last touch; a block's next use only changes when a request uses it.
        entry.order = nextUse.after(entry.key());
        evictable.add(entry);
    }

    @Override
    public void onUnevictable(BlockEntry entry) {
        evictable.remove(entry);
    }

    @Override
    public void onRemove(BlockEntry entry) {
        evictable.forget(entry);
        size--;
    }

    @Override
    public BlockEntry selectVictim() {
        return evictable.first();
    }

    @Override
    public int size() {
        return size;
    }

    @Override
    public void checkInvariants(int expectedSize, int expectedEvictable) {
        Invariants.check(size == expectedSize, "OPTIMAL holds %d entries, the index %d", size, expectedSize);
        Invariants.check(evictable.size() == expectedEvictable,
                "OPTIMAL orders %d evictable entries, the index has %d", evictable.size(), expectedEvictable);
        evictable.checkEach(entry -> true, "OPTIMAL orders an entry not marked evictable");
    }
}
