package dev.ultrakv.kvcache.index;

import dev.ultrakv.kvcache.policy.BlockEntry;

import java.util.HashMap;

/**
 * One cached KV block in the prefix tree: its tokens, the caller's block id, its parent and children, and the
 * number of running requests that pin it. A root (one per model) holds no block and is never given to a policy.
 *
 * <p>Children are bucketed by their first token; siblings that share a first token (they differ later in the
 * block) are chained through {@link #nextInBucket}, so a lookup compares one or a few blocks.
 */
final class Node extends BlockEntry {
    /** Block id of a root, which holds no block. */
    static final int NO_BLOCK = -1;

    final Node parent;
    /** This block's tokens: {@code blockSize} of them for a full block, fewer for a partial (tail) block. */
    final int[] tokens;
    final int blockId;
    /** Children by first token; null until the first child. */
    HashMap<Integer, Node> children;
    Node nextInBucket;
    int childCount;
    int lockCount;
    /** A longer sibling now holds these tokens too: removed as soon as no request pins it. */
    boolean superseded;
    boolean removed;

    private Node(long key, int depth, Node parent, int[] tokens, int blockId) {
        super(key, depth);
        this.parent = parent;
        this.tokens = tokens;
        this.blockId = blockId;
    }

    static Node root(String modelId) {
        return new Node(mix(0x5851f42d4c957f2dL, modelId.hashCode()), -1, null, new int[0], NO_BLOCK);
    }

    static Node child(Node parent, int[] tokens, int blockId) {
        long key = parent.key();
        for (int token : tokens) {
            key = mix(key, token);
        }
        return new Node(mix(key, tokens.length), parent.depth() + 1, parent, tokens, blockId);
    }

    boolean isRoot() {
        return parent == null;
    }

    boolean isLeaf() {
        return childCount == 0;
    }

    /** An unpinned leaf that is not a root: the only kind of node eviction may take. */
    boolean isEvictable() {
        return !isRoot() && childCount == 0 && lockCount == 0;
    }

    Node firstInBucket(int token) {
        return children == null ? null : children.get(token);
    }

    void addChild(Node child) {
        if (children == null) {
            children = new HashMap<>();
        }
        child.nextInBucket = children.put(child.tokens[0], child);
        childCount++;
    }

    void removeChild(Node child) {
        int token = child.tokens[0];
        Node head = children.get(token);
        if (head == child) {
            if (child.nextInBucket == null) {
                children.remove(token);
            } else {
                children.put(token, child.nextInBucket);
            }
        } else {
            Node previous = head;
            while (previous.nextInBucket != child) {
                previous = previous.nextInBucket;
            }
            previous.nextInBucket = child.nextInBucket;
        }
        child.nextInBucket = null;
        childCount--;
    }

    private static long mix(long hash, long value) {
        long h = (hash ^ value) * 0x9e3779b97f4a7c15L;
        return h ^ (h >>> 29);
    }
}
