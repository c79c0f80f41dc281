package dev.ultrakv.kvcache.index;

/**
 * Where a running sequence's blocks continue the prefix tree while it still runs: the node of the last block it
 * has handed to the index so far ({@link PrefixIndex#handOver}), or of the last cached block it shares.
 *
 * <p>A sliding-window sequence hands over each full block as soon as no later query of it can read the block: the
 * block becomes an ordinary cached block, unpinned, which eviction may take when memory is short. Once it does,
 * the chain is broken: the blocks after it cannot join the tree (a node needs its parent), so the caller frees
 * them instead, and its final insert stops where the chain broke.
 *
 * <p>Not thread-safe, like the index.
 */
public final class PrefixChain {
    final PrefixMatch match;
    /** The node the next block becomes a child of. */
    Node tail;
    /** Leading blocks of the sequence that the tree holds along this chain. */
    int blocks;
    /** Set when a block could not join because its parent had been evicted. */
    boolean broken;

    PrefixChain(PrefixMatch match, Node tail, int blocks) {
        this.match = match;
        this.tail = tail;
        this.blocks = blocks;
    }

    /** Leading blocks of the sequence the chain covers: shared ones and those handed over. */
    public int blocks() {
        return blocks;
    }

    /** Whether blocks can still join: no block of the chain has been evicted since it was handed over. */
    public boolean isIntact() {
        return !broken && (tail.isRoot() || !tail.removed);
    }

    @Override
    public String toString() {
        return "PrefixChain[" + blocks + " blocks" + (isIntact() ? "" : ", broken") + "]";
    }
}
