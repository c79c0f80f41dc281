package dev.ultrakv.kvcache.policy;

/**
 * What an eviction policy knows of one cached KV block: a key that names its content (and everything before it)
 * and its depth in the prefix. The prefix index extends this class with the tree structure; policies see only
 * this surface and keep their own bookkeeping in it, so that a policy needs no map from blocks to its state.
 *
 * <p>The key is stable across evictions: the same prefix computed again gets the same key, which lets a policy
 * remember how popular a block was while it was not cached (TinyLFU's sketch, ARC's ghosts). Distinct content
 * may collide on a key; a policy may only lose accuracy, never correctness, when it does.
 */
public abstract class BlockEntry {
    private final long key;
    private final int depth;

    // Bookkeeping owned by the one policy that holds this entry.
    /** Logical time of the last access or insertion (a policy tick, never the wall clock). */
    long order;
    /** Uses counted by a frequency-based policy. */
    int frequency;
    /** Whether the index has declared this entry an unpinned leaf. */
    boolean evictable;
    /** Neighbours in a policy's list of evictable entries ({@link FrequencyClasses}); null when not listed. */
    BlockEntry older;
    BlockEntry newer;
    /** The halving of counts {@link #frequency} was last brought up to date in ({@link FrequencyClasses}). */
    int epoch;
    /** Its place in a policy's {@link EvictableOrder}; -1 when not in one. */
    int slot = -1;

    /**
     * @param key   hash of the model identity and every token up to the end of this block
     * @param depth blocks before this one in its prefix (0 for a prompt's first block)
     */
    protected BlockEntry(long key, int depth) {
        this.key = key;
        this.depth = depth;
    }

    /** Hash of the model identity and every token up to the end of this block. */
    public final long key() {
        return key;
    }

    /** Blocks before this one in its prefix: 0 for the first block of a sequence. */
    public final int depth() {
        return depth;
    }
}
