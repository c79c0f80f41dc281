package dev.ultrakv.kvcache.policy;

/**
 * Decides which cached block goes next; the prefix index does the removing. The index reports every change of
 * its contents and asks for one victim at a time, so a policy is a small state machine that can be tested without
 * a cache and replayed by the simulator on traces.
 *
 * <p>Contract with the index, which calls these methods from one thread:
 * <ul>
 *   <li>{@link #onInsert} once when a block enters the cache, before any other call about it; a new entry is not
 *       evictable until {@link #onEvictable}.</li>
 *   <li>{@link #onEvictable} / {@link #onUnevictable} each time the entry becomes an unpinned leaf or stops being
 *       one (it is pinned by a running request, or gains a child). Only evictable entries may be victims: that
 *       is what keeps eviction to leaves, so a cached prefix never loses its beginning.</li>
 *   <li>{@link #onAccess} when a request reuses the cached block.</li>
 *   <li>{@link #selectVictim} when the index must free a block: the policy returns an evictable entry, and the
 *       index removes it at once and then calls {@link #onRemove}.</li>
 *   <li>{@link #onRemove} once when the entry leaves the cache, evicted or dropped for any other reason.</li>
 * </ul>
 * Policies never read a clock: recency is the order of these calls.
 */
public interface EvictionPolicy {

    /** Which strategy this is. */
    PolicyKind kind();

    /**
     * A block entered the cache (a request computed it); it is not evictable yet.
     *
     * @param requested whether the block holds prompt tokens the request looked up and missed, rather than only
     *                  tokens it generated: a miss for the block, which frequency estimates should count
     */
    void onInsert(BlockEntry entry, boolean requested);

    /** A request reused the cached block. */
    void onAccess(BlockEntry entry);

    /**
     * The request whose blocks were just inserted ends its prompt in {@code entry} (cached, shared or just
     * adopted): the block holding its last prompt token, already reported by {@link #onAccess} or
     * {@link #onInsert}. A policy that weighs whole requests may use it; the default ignores it.
     */
    default void onPromptEnd(BlockEntry entry) {
    }

    /** The entry became an unpinned leaf: it may now be chosen as a victim. */
    void onEvictable(BlockEntry entry);

    /** The entry was pinned or gained a child: it may not be chosen until {@link #onEvictable} again. */
    void onUnevictable(BlockEntry entry);

    /** The entry left the cache. */
    void onRemove(BlockEntry entry);

    /**
     * Chooses the next entry to evict among the evictable ones; the index removes it and calls {@link #onRemove}
     * before asking again.
     *
     * @return the victim, or {@code null} when no entry is evictable
     */
    BlockEntry selectVictim();

    /** Entries held (every cached block, pinned or not). */
    int size();

    /**
     * Re-checks the policy's own bookkeeping against what the index holds; for tests and the simulator.
     *
     * @throws IllegalStateException naming the first inconsistency found
     */
    void checkInvariants(int expectedSize, int expectedEvictable);
}
