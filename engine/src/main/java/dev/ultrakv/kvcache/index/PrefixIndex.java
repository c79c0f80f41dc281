package dev.ultrakv.kvcache.index;

import dev.ultrakv.kvcache.policy.EvictionPolicy;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.IntConsumer;

/**
 * Maps token sequences to cached KV blocks, per model, so that a request reuses the longest cached prefix of its
 * tokens: a radix tree whose nodes are blocks of {@code blockSize} tokens (a sequence's last block may be a
 * partial one), keyed by their tokens and compared exactly, never by hash alone.
 *
 * <p>The index holds block ids, not memory: the caller allocates blocks, hands them over with
 * {@link #insert}, and gets them back through the release callback given at construction whenever the index
 * evicts one or does not keep one. The simulator drives it with a counter for a pool; the engine with its block
 * pool.
 *
 * <h2>How a request uses it</h2>
 * <ol>
 *   <li>{@code m = match(model, prompt)}, then {@code pin(m)} in the same step: the blocks of {@code m} are now
 *       safe from eviction and counted as used by the policy. {@code m.fullBlocks()} start the request's block
 *       table; if {@code m.hasPartial()}, copy the first {@code m.partialTokens()} tokens' K/V of
 *       {@code m.partialBlock()} into a fresh block (never write into a cached block).</li>
 *   <li>Allocate the rest from the pool; when it is empty, {@link #evict} what is missing (it may free fewer
 *       blocks when the rest is pinned: then the request waits or another is preempted).</li>
 *   <li>Run the model.</li>
 *   <li>{@code insert(model, tokens, tokenCount, blockTable)} with every token whose K/V is written (prompt and
 *       generated), then {@code unpin(m)}. The index adopts new content and gives back duplicates.</li>
 * </ol>
 *
 * <h2>Structure</h2>
 * Each node is one block: full blocks have children, a partial block is always a leaf. Matching descends
 * through children whose tokens equal the next block exactly, and then takes the child sharing the longest
 * beginning with the remaining tokens as a partial match. Inserting a block that extends a cached partial
 * sibling (the next turn of a chat extends the previous tail) drops the shorter one: it is superseded.
 *
 * <h2>Pinning and eviction</h2>
 * Pinning increments a lock count on every matched node, which is the whole path from the root. Only unpinned
 * leaves are evictable, and the index tells the {@link EvictionPolicy} whenever a node becomes or stops being one
 * (SGLang's radix cache keeps its evictable set the same way), so the policy only orders candidates. A parent
 * whose last child goes becomes a candidate itself; a prefix therefore loses its end before its beginning.
 *
 * <p>Not thread-safe: one thread (the engine's step loop) owns it, as vLLM and SGLang do.
 */
public final class PrefixIndex {
    private final int blockSize;
    private final EvictionPolicy policy;
    private final IntConsumer releaseBlock;
    private final Map<String, Node> roots = new HashMap<>();
    private final Map<Integer, Node> nodesByBlock = new HashMap<>();
    private final Set<PrefixMatch> pinnedMatches = Collections.newSetFromMap(new IdentityHashMap<>());
    private int evictableBlocks;
    private int pinnedBlocks;

    private long lookups;
    private long requestHits;
    private long lookupTokens;
    private long cachedTokens;
    private long insertedBlocks;
    private long duplicateBlocks;
    private long evictedBlocks;
    private long supersededBlocks;

    /**
     * @param blockSize    tokens per KV block, positive
     * @param policy       orders the evictable blocks; used by this index alone
     * @param releaseBlock called once with each block id the index gives back (evicted, duplicate, superseded);
     *                     the caller returns it to its pool
     */
    public PrefixIndex(int blockSize, EvictionPolicy policy, IntConsumer releaseBlock) {
        if (blockSize <= 0) {
            throw new IllegalArgumentException("block size must be positive: " + blockSize);
        }
        if (policy.size() != 0) {
            throw new IllegalArgumentException("the policy already holds " + policy.size() + " entries");
        }
        this.blockSize = blockSize;
        this.policy = policy;
        this.releaseBlock = Objects.requireNonNull(releaseBlock, "releaseBlock");
    }

    /** Tokens per block. */
    public int blockSize() {
        return blockSize;
    }

    /** The eviction policy in use. */
    public EvictionPolicy policy() {
        return policy;
    }

    /**
     * The longest cached prefix of {@code tokens} for {@code modelId}. Has no effect on the cache: a scheduler
     * may call it to rank waiting requests; {@link #pin} records the use.
     *
     * @param tokens at least one token
     */
    public PrefixMatch match(String modelId, int[] tokens) {
        Objects.requireNonNull(modelId, "modelId");
        if (tokens.length == 0) {
            throw new IllegalArgumentException("cannot match an empty token sequence");
        }
        Node node = roots.get(modelId);
        List<Node> full = new ArrayList<>();
        Node partial = null;
        int partialTokens = 0;
        int position = 0;
        while (node != null && position < tokens.length) {
            int remaining = tokens.length - position;
            Node next = null;
            for (Node child = node.firstInBucket(tokens[position]); child != null; child = child.nextInBucket) {
                if (child.superseded) {
                    continue;
                }
                int length = child.tokens.length;
                if (length == blockSize && remaining >= blockSize
                        && Arrays.equals(child.tokens, 0, length, tokens, position, position + length)) {
                    next = child;
                    break;
                }
                int common = commonPrefix(child.tokens, tokens, position);
                if (common > partialTokens || (common == partialTokens && partial != null
                        && length > partial.tokens.length)) {
                    partial = child;
                    partialTokens = common;
                }
            }
            if (next == null) {
                break;
            }
            full.add(next);
            partial = null;
            partialTokens = 0;
            position += blockSize;
            node = next;
        }
        return new PrefixMatch(this, modelId, tokens.length, full.toArray(new Node[0]), partial, partialTokens);
    }

    private static int commonPrefix(int[] block, int[] tokens, int position) {
        int length = Math.min(block.length, tokens.length - position);
        int mismatch = Arrays.mismatch(block, 0, length, tokens, position, position + length);
        return mismatch < 0 ? length : mismatch;
    }

    /**
     * Pins the blocks of {@code match} (they cannot be evicted until {@link #unpin}) and records their use: the
     * policy sees an access of each, and the statistics count one lookup. Call it once per admitted request,
     * right after {@link #match} and before anything may evict.
     *
     * @throws IllegalStateException if the match is pinned already, or a block of it left the cache since
     */
    public void pin(PrefixMatch match) {
        checkOwned(match);
        if (match.pinned) {
            throw new IllegalStateException("match is pinned already: " + match);
        }
        for (Node node : match.fullNodes) {
            checkCached(node, match);
        }
        if (match.partialNode != null) {
            checkCached(match.partialNode, match);
        }
        match.pinned = true;
        pinnedMatches.add(match);
        for (Node node : match.fullNodes) {
            lock(node);
        }
        if (match.partialNode != null) {
            lock(match.partialNode);
            policy.onAccess(match.partialNode);
        }
        for (int i = match.fullNodes.length - 1; i >= 0; i--) {
            policy.onAccess(match.fullNodes[i]);
        }
        lookups++;
        lookupTokens += match.queryTokens;
        cachedTokens += match.cachedTokens();
        if (match.isFullHit()) {
            requestHits++;
        }
    }

    /**
     * Releases the pins of {@code match}. A superseded partial block is given back when its last pin goes.
     *
     * @throws IllegalStateException if the match is not pinned
     */
    public void unpin(PrefixMatch match) {
        checkOwned(match);
        if (!match.pinned) {
            throw new IllegalStateException("match is not pinned: " + match);
        }
        match.pinned = false;
        pinnedMatches.remove(match);
        if (match.partialNode != null) {
            unlock(match.partialNode);
        }
        for (int i = match.fullNodes.length - 1; i >= 0; i--) {
            unlock(match.fullNodes[i]);
        }
    }

    private void checkOwned(PrefixMatch match) {
        if (match.index != this) {
            throw new IllegalArgumentException("match belongs to another index: " + match);
        }
    }

    private static void checkCached(Node node, PrefixMatch match) {
        if (node.removed) {
            throw new IllegalStateException("block " + node.blockId + " was evicted after the match: " + match);
        }
    }

    private void lock(Node node) {
        if (node.lockCount++ == 0) {
            pinnedBlocks++;
            if (node.isLeaf()) {
                unmarkEvictable(node);
            }
        }
    }

    private void unlock(Node node) {
        if (--node.lockCount == 0) {
            pinnedBlocks--;
            if (node.isLeaf()) {
                markEvictable(node);
                if (node.superseded) {
                    remove(node);
                }
            }
        }
    }

    /**
     * Caches the K/V blocks of a finished (or preempted) request. Walking the tree along {@code tokens}, each
     * block whose content is cached already is shared (same id) or given back as a duplicate (another id), and
     * each block with new content is adopted; the last block may be partial. The blocks of a pinned match appear
     * here under their own ids and are shared.
     *
     * @param match      the request's match, pinned or not: it names the model, and its length tells the prompt
     *                   (looked up, so a new block of it is a miss the policy counts) from the generated tokens
     * @param tokens     the sequence, prompt (the tokens matched) then generated tokens
     * @param tokenCount tokens of {@code tokens} whose K/V are written in the blocks (usually all but the last
     *                   generated token, which was sampled but never fed back); at least one
     * @param blockTable block ids in sequence order; the first {@code ceil(tokenCount / blockSize)} are read, any
     *                   after them stay the caller's
     * @throws IllegalArgumentException if the counts do not fit, an id is negative or repeated, or an id that
     *                                  the index owns appears where the tree holds another block
     */
    public InsertResult insert(PrefixMatch match, int[] tokens, int tokenCount, int[] blockTable) {
        checkOwned(match);
        return insertFrom(roots.computeIfAbsent(match.modelId, Node::root), 0, match, tokens, tokenCount, blockTable);
    }

    /**
     * {@link #insert(PrefixMatch, int[], int, int[]) Caches} the blocks of a finished (or preempted) request after
     * those its {@code chain} already covers: {@code blockTable}'s entries before {@link PrefixChain#blocks()} are
     * not read (the blocks were shared or handed over).
     *
     * @throws IllegalStateException    if the chain is broken: the caller frees the blocks after it instead
     * @throws IllegalArgumentException as {@link #insert(PrefixMatch, int[], int, int[])} does, or if
     *                                  {@code tokenCount} ends before the chain does
     */
    public InsertResult insert(PrefixChain chain, int[] tokens, int tokenCount, int[] blockTable) {
        checkOwned(chain.match);
        if (!chain.isIntact()) {
            throw new IllegalStateException("the chain is broken: " + chain);
        }
        if ((long) chain.blocks * blockSize > tokenCount) {
            throw new IllegalArgumentException("token count " + tokenCount + " ends before the chain's "
                    + chain.blocks + " blocks");
        }
        return insertFrom(chain.tail, chain.blocks, chain.match, tokens, tokenCount, blockTable);
    }

    /**
     * Starts the chain of a running sequence that shares the first {@code sharedBlocks} full blocks of its pinned
     * {@code match}: its next block, the {@code sharedBlocks}-th, will be a child of the last of them.
     *
     * @throws IllegalStateException    if the match is not pinned (its blocks could be gone)
     * @throws IllegalArgumentException if {@code sharedBlocks} is outside {@code [0, match.fullBlockCount()]}
     */
    public PrefixChain chain(PrefixMatch match, int sharedBlocks) {
        checkOwned(match);
        if (!match.pinned) {
            throw new IllegalStateException("match is not pinned: " + match);
        }
        Objects.checkIndex(sharedBlocks, match.fullNodes.length + 1);
        Node tail = sharedBlocks == 0 ? roots.computeIfAbsent(match.modelId, Node::root)
                : match.fullNodes[sharedBlocks - 1];
        return new PrefixChain(match, tail, sharedBlocks);
    }

    /**
     * Caches the next full block of a sequence that is still running, because none of its later queries will
     * read it (a sliding window has passed it): the block joins the tree under the chain's tail, unpinned, as
     * {@link #insert} would adopt it at the end, or is given back through the release callback when the same
     * content is cached already. The caller no longer holds the block either way, unless this returns false.
     *
     * @param tokens  the sequence's tokens; the block holds {@code tokens[b × blockSize, (b + 1) × blockSize)} for
     *                {@code b = chain.blocks()}
     * @param blockId the block, whose K/V of those tokens are written
     * @return false if the chain is broken (a block handed over before was evicted since): the block stays the
     *         caller's, who frees it
     */
    public boolean handOver(PrefixChain chain, int[] tokens, int blockId) {
        checkOwned(chain.match);
        if (!chain.isIntact()) {
            chain.broken = true;
            return false;
        }
        int start = chain.blocks * blockSize;
        Objects.checkFromIndexSize(start, blockSize, tokens.length);
        if (blockId < 0) {
            throw new IllegalArgumentException("negative block id " + blockId);
        }
        Node cached = findFull(chain.tail, tokens, start);
        Node node;
        if (cached == null) {
            node = adopt(chain.tail, Arrays.copyOfRange(tokens, start, start + blockSize), blockId,
                    start < chain.match.queryTokens);
        } else {
            giveBackDuplicate(cached, blockId);
            node = cached;
        }
        if (chain.blocks == Math.ceilDiv(chain.match.queryTokens, blockSize) - 1) {
            policy.onPromptEnd(node);
        }
        chain.tail = node;
        chain.blocks++;
        return true;
    }

    /** {@link #insert}'s walk from {@code node}, which holds the sequence's first {@code firstBlock} blocks. */
    private InsertResult insertFrom(Node node, int firstBlock, PrefixMatch match, int[] tokens, int tokenCount,
                                    int[] blockTable) {
        if (tokenCount <= 0 || tokenCount > tokens.length) {
            throw new IllegalArgumentException("token count " + tokenCount + " outside [1, " + tokens.length + "]");
        }
        int blocks = Math.ceilDiv(tokenCount, blockSize);
        if (blockTable.length < blocks) {
            throw new IllegalArgumentException(tokenCount + " tokens need " + blocks + " blocks, the table has "
                    + blockTable.length);
        }
        checkBlockIds(blockTable, firstBlock, blocks);
        int adopted = 0;
        int[] duplicates = new int[blocks];
        int duplicateCount = 0;
        long supersededBefore = supersededBlocks;
        int promptEnd = match.queryTokens <= tokenCount ? Math.ceilDiv(match.queryTokens, blockSize) - 1 : -1;
        for (int i = firstBlock; i < blocks; i++) {
            int start = i * blockSize;
            int length = Math.min(blockSize, tokenCount - start);
            int id = blockTable[i];
            Node cached = length == blockSize ? findFull(node, tokens, start)
                    : findCover(node, tokens, start, length, id);
            if (cached == null) {
                node = adopt(node, Arrays.copyOfRange(tokens, start, start + length), id, start < match.queryTokens);
                adopted++;
            } else {
                if (giveBackDuplicate(cached, id)) {
                    duplicates[duplicateCount++] = id;
                }
                node = cached;
            }
            if (i == promptEnd) {
                policy.onPromptEnd(node);
            }
        }
        return new InsertResult(adopted, Arrays.copyOf(duplicates, duplicateCount),
                (int) (supersededBlocks - supersededBefore));
    }

    /**
     * {@code cached} holds the content of block {@code id} already: unless it is that very block, {@code id} is a
     * duplicate, counted and given back through the release callback.
     *
     * @return whether {@code id} was given back
     */
    private boolean giveBackDuplicate(Node cached, int id) {
        if (cached.blockId == id) {
            return false;
        }
        checkNotCached(id);
        duplicateBlocks++;
        releaseBlock.accept(id);
        return true;
    }

    private void checkBlockIds(int[] blockTable, int from, int blocks) {
        for (int i = from; i < blocks; i++) {
            int id = blockTable[i];
            if (id < 0) {
                throw new IllegalArgumentException("negative block id " + id + " at " + i);
            }
            Node owner = nodesByBlock.get(id);
            if (owner != null && owner.depth() != i) {
                throw new IllegalArgumentException("block " + id + " at " + i + " is cached at depth "
                        + owner.depth());
            }
            for (int j = from; j < i; j++) {
                if (blockTable[j] == id) {
                    throw new IllegalArgumentException("block " + id + " appears at " + j + " and " + i);
                }
            }
        }
    }

    private void checkNotCached(int id) {
        if (nodesByBlock.containsKey(id)) {
            throw new IllegalArgumentException("block " + id + " is cached for other tokens");
        }
    }

    private Node findFull(Node parent, int[] tokens, int start) {
        for (Node child = parent.firstInBucket(tokens[start]); child != null; child = child.nextInBucket) {
            if (child.tokens.length == blockSize
                    && Arrays.equals(child.tokens, 0, blockSize, tokens, start, start + blockSize)) {
                return child;
            }
        }
        return null;
    }

    /**
     * A child (not superseded) whose tokens begin with the {@code length} tokens at {@code start}: the caller's own
     * block {@code id} if it is one (a shared block the sequence ends inside), else the first found.
     */
    private static Node findCover(Node parent, int[] tokens, int start, int length, int id) {
        Node cover = null;
        for (Node child = parent.firstInBucket(tokens[start]); child != null; child = child.nextInBucket) {
            if (!child.superseded && child.tokens.length >= length
                    && Arrays.equals(child.tokens, 0, length, tokens, start, start + length)) {
                if (child.blockId == id) {
                    return child;
                }
                if (cover == null) {
                    cover = child;
                }
            }
        }
        return cover;
    }

    private Node adopt(Node parent, int[] tokens, int id, boolean requested) {
        checkNotCached(id);
        Node child = Node.child(parent, tokens, id);
        if (!parent.isRoot() && parent.isLeaf() && parent.lockCount == 0) {
            unmarkEvictable(parent);
        }
        parent.addChild(child);
        nodesByBlock.put(id, child);
        insertedBlocks++;
        policy.onInsert(child, requested);
        markEvictable(child);
        for (Node sibling = parent.firstInBucket(tokens[0]); sibling != null; ) {
            Node next = sibling.nextInBucket;
            if (sibling != child && !sibling.superseded && sibling.tokens.length < tokens.length
                    && Arrays.equals(sibling.tokens, 0, sibling.tokens.length, tokens, 0, sibling.tokens.length)) {
                supersede(sibling);
            }
            sibling = next;
        }
        return child;
    }

    private void supersede(Node partial) {
        supersededBlocks++;
        if (partial.lockCount == 0) {
            remove(partial);
        } else {
            partial.superseded = true;
        }
    }

    /**
     * Evicts up to {@code blocks} unpinned leaves in the policy's order, giving each back through the release
     * callback; a parent left without children becomes a candidate in turn.
     *
     * @return blocks freed: fewer than asked when every remaining block is pinned or inner
     */
    public int evict(int blocks) {
        int freed = 0;
        while (freed < blocks) {
            var victim = policy.selectVictim();
            if (victim == null) {
                break;
            }
            if (!(victim instanceof Node node) || node.removed || !node.isEvictable()) {
                throw new IllegalStateException(policy.kind() + " chose a block that is not an unpinned leaf");
            }
            remove(node);
            evictedBlocks++;
            freed++;
        }
        return freed;
    }

    private void remove(Node node) {
        unmarkEvictable(node);
        policy.onRemove(node);
        Node parent = node.parent;
        parent.removeChild(node);
        nodesByBlock.remove(node.blockId);
        node.removed = true;
        if (!parent.isRoot() && parent.isEvictable()) {
            markEvictable(parent);
        }
        releaseBlock.accept(node.blockId);
    }

    private void markEvictable(Node node) {
        evictableBlocks++;
        policy.onEvictable(node);
    }

    private void unmarkEvictable(Node node) {
        evictableBlocks--;
        policy.onUnevictable(node);
    }

    /** Blocks cached, pinned or not. */
    public int cachedBlocks() {
        return nodesByBlock.size();
    }

    /** Blocks that eviction could free now: unpinned leaves. */
    public int evictableBlocks() {
        return evictableBlocks;
    }

    /** Blocks pinned by at least one running request. */
    public int pinnedBlocks() {
        return pinnedBlocks;
    }

    /** Whether {@code blockId} is held by the cache. */
    public boolean isCached(int blockId) {
        return nodesByBlock.containsKey(blockId);
    }

    /** Whether {@code blockId} is cached and pinned by at least one running request. */
    public boolean isPinned(int blockId) {
        Node node = nodesByBlock.get(blockId);
        return node != null && node.lockCount > 0;
    }

    /** The counters so far. */
    public PrefixIndexStats stats() {
        return new PrefixIndexStats(lookups, requestHits, lookupTokens, cachedTokens, insertedBlocks,
                duplicateBlocks, evictedBlocks, supersededBlocks);
    }

    /**
     * Re-checks the whole structure; for tests and the simulator, {@code O(n)}: lock counts equal the pins of the
     * pinned matches, the evictable set is exactly the unpinned leaves, counters and the block map add up, partial
     * blocks are leaves, siblings differ, and the policy agrees.
     *
     * @throws IllegalStateException naming the first inconsistency found
     */
    public void checkInvariants() {
        Map<Node, Integer> expectedLocks = new IdentityHashMap<>();
        for (PrefixMatch match : pinnedMatches) {
            for (Node node : match.fullNodes) {
                expectedLocks.merge(node, 1, Integer::sum);
            }
            if (match.partialNode != null) {
                expectedLocks.merge(match.partialNode, 1, Integer::sum);
            }
        }
        int[] counts = new int[3]; // nodes, evictable, pinned
        for (Node root : roots.values()) {
            check(root.lockCount == 0, "a root is locked");
            checkSubtree(root, expectedLocks, counts);
        }
        check(counts[0] == nodesByBlock.size(), "%d nodes in the trees, %d in the block map", counts[0],
                nodesByBlock.size());
        check(counts[1] == evictableBlocks, "%d unpinned leaves, evictable count %d", counts[1], evictableBlocks);
        check(counts[2] == pinnedBlocks, "%d pinned nodes, pinned count %d", counts[2], pinnedBlocks);
        policy.checkInvariants(nodesByBlock.size(), evictableBlocks);
    }

    private void checkSubtree(Node parent, Map<Node, Integer> expectedLocks, int[] counts) {
        int children = 0;
        List<Node> seen = new ArrayList<>();
        if (parent.children != null) {
            for (var bucket : parent.children.entrySet()) {
                for (Node child = bucket.getValue(); child != null; child = child.nextInBucket) {
                    children++;
                    check(child.parent == parent && !child.removed, "block %d is detached", child.blockId);
                    check(child.tokens.length > 0 && child.tokens.length <= blockSize
                            && child.tokens[0] == bucket.getKey(), "block %d is in the wrong bucket", child.blockId);
                    check(child.depth() == parent.depth() + 1, "block %d has depth %d under depth %d", child.blockId,
                            child.depth(), parent.depth());
                    check(nodesByBlock.get(child.blockId) == child, "block %d is missing from the block map",
                            child.blockId);
                    int expected = expectedLocks.getOrDefault(child, 0);
                    check(child.lockCount == expected, "block %d has lock count %d, pins say %d", child.blockId,
                            child.lockCount, expected);
                    check(!child.superseded || child.lockCount > 0, "superseded block %d is not pinned",
                            child.blockId);
                    check(child.tokens.length == blockSize || child.isLeaf(), "partial block %d has children",
                            child.blockId);
                    for (Node other : seen) {
                        // A superseded block waits for its last pin while the same tokens may be cached again.
                        check(other.superseded || child.superseded || !Arrays.equals(other.tokens, child.tokens),
                                "blocks %d and %d hold the same tokens", other.blockId, child.blockId);
                    }
                    seen.add(child);
                    counts[0]++;
                    if (child.isEvictable()) {
                        counts[1]++;
                    }
                    if (child.lockCount > 0) {
                        counts[2]++;
                    }
                    checkSubtree(child, expectedLocks, counts);
                }
            }
        }
        check(children == parent.childCount, "block %d counts %d children, has %d", parent.blockId,
                parent.childCount, children);
    }

    private static void check(boolean condition, String format, Object... arguments) {
        if (!condition) {
            throw new IllegalStateException(String.format(format, arguments));
        }
    }
}
