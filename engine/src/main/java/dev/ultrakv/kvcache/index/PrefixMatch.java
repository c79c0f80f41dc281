package dev.ultrakv.kvcache.index;

import java.util.Arrays;

/**
 * The longest cached prefix of a token sequence, at token granularity: whole cached blocks the request shares
 * as they are, then optionally one cached block of which only the first {@link #partialTokens()} tokens match
 * (the sequence diverges inside it, or ends inside it, or the cached block is itself a partial tail).
 *
 * <pre>
 *   tokens:  |  block 0  |  block 1  |  block 2  | ...
 *   cached:  |== full ===|== full ===|== partial: k tokens match ==|
 *            shared as is, pinned     copy its first k tokens' K/V into a new block (copy-on-write)
 *   cachedTokens = 2 * blockSize + k
 * </pre>
 *
 * A match holds references into its index: pin it before anything can evict (in the same step), unpin it when
 * the request is done. It is not thread-safe, like the index.
 */
public final class PrefixMatch {
    final PrefixIndex index;
    final String modelId;
    final int queryTokens;
    final Node[] fullNodes;
    final Node partialNode;
    final int partialTokens;
    boolean pinned;

    PrefixMatch(PrefixIndex index, String modelId, int queryTokens, Node[] fullNodes, Node partialNode,
                int partialTokens) {
        this.index = index;
        this.modelId = modelId;
        this.queryTokens = queryTokens;
        this.fullNodes = fullNodes;
        this.partialNode = partialNode;
        this.partialTokens = partialTokens;
    }

    /** The model whose cache was searched. */
    public String modelId() {
        return modelId;
    }

    /** Tokens of the sequence that was looked up. */
    public int queryTokens() {
        return queryTokens;
    }

    /** Whole blocks found: the first {@code fullBlockCount() * blockSize} tokens are cached as they are. */
    public int fullBlockCount() {
        return fullNodes.length;
    }

    /** Block ids of the whole blocks found, in sequence order: the start of the request's block table. */
    public int[] fullBlocks() {
        int[] ids = new int[fullNodes.length];
        for (int i = 0; i < ids.length; i++) {
            ids[i] = fullNodes[i].blockId;
        }
        return ids;
    }

    /** Whether a cached block matches the tokens after the whole blocks in part. */
    public boolean hasPartial() {
        return partialNode != null;
    }

    /** The block to copy the first {@link #partialTokens()} tokens' K/V from, or -1 when there is none. */
    public int partialBlock() {
        return partialNode == null ? -1 : partialNode.blockId;
    }

    /** Tokens of {@link #partialBlock()} that match (0 when there is none), fewer than a block. */
    public int partialTokens() {
        return partialTokens;
    }

    /** Tokens whose K/V are cached: whole blocks plus the matching part of the partial block. */
    public int cachedTokens() {
        return fullNodes.length * index.blockSize() + partialTokens;
    }

    /**
     * Whether every token of the sequence is cached: for a prompt, the request is a cache hit (only the last
     * position's logits need computing).
     */
    public boolean isFullHit() {
        return cachedTokens() == queryTokens;
    }

    /** Whether this match is pinned now. */
    public boolean isPinned() {
        return pinned;
    }

    @Override
    public String toString() {
        return "PrefixMatch[" + modelId + ", " + cachedTokens() + "/" + queryTokens + " tokens, full "
                + Arrays.toString(fullBlocks()) + (hasPartial() ? ", partial " + partialBlock() + ":" + partialTokens
                : "") + "]";
    }
}
