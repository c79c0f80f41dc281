package dev.ultrakv.kvcache;

import dev.ultrakv.kvcache.index.PrefixChain;
import dev.ultrakv.kvcache.index.PrefixIndex;
import dev.ultrakv.kvcache.index.PrefixIndexStats;
import dev.ultrakv.kvcache.index.PrefixMatch;
import dev.ultrakv.kvcache.compress.CompressionMethod;
import dev.ultrakv.kvcache.compress.KvCompression;
import dev.ultrakv.kvcache.compress.KvCompressor;
import dev.ultrakv.kvcache.policy.EvictionPolicies;
import dev.ultrakv.kvcache.policy.PolicyKind;
import dev.ultrakv.kvcache.tier.BlockKey;
import dev.ultrakv.kvcache.tier.BlockRecord;
import dev.ultrakv.kvcache.tier.KvTier;
import dev.ultrakv.kvcache.tier.KvTiers;
import dev.ultrakv.kvcache.tier.TierLoad;

import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * The KV cache of one model: a {@link BlockPool} of off-heap blocks and the {@link PrefixIndex} that keeps
 * finished sequences' blocks for reuse. A request {@linkplain #acquire acquires} a {@link Sequence}, whose
 * {@link PagedKvStore} starts with the cached blocks of its longest cached prefix; when it ends, it is
 * {@linkplain #release released} (its blocks go into the index) or {@linkplain #abort aborted}.
 *
 * <pre>
 * prompt     | cached, full blocks (shared) | cached part of a block (copied) | rest of prompt + generation |
 * table      [  shared  |  shared           |  fresh copy                     |  fresh  |  fresh            ]
 * </pre>
 *
 * <h2>Notes</h2>
 * <b>The call sequence</b> is the one of docs/policies.md: match and pin at once, share the full blocks, copy
 * the partial block (copy-on-write), allocate the rest and evict through the index when the pool is short;
 * after the run insert every token whose K/V is written, then unpin.
 *
 * <p><b>A full hit</b> (every prompt token cached) still needs the last prompt position's logits, so that
 * position is run through the model again, and its K/V must not be written into a shared block: when it lies in
 * a shared full block, the sequence gets a private copy of that block instead ({@link Sequence#computeFrom()}
 * says where the model must start). On insert the copy is a duplicate of the cached block and is given back.
 * So even a full hit needs one free block, and in a full pool it evicts one.
 *
 * <p><b>Lossy blocks</b> (any codec but float32) are reused only whole, and only up to the block in which the
 * model must start: that block is computed again in a fresh block, with the positions of it that were cached.
 * A query reads its own block from the sequence's full-precision window and earlier blocks through the codec
 * (see {@link PagedKvStore}); a copied partial block would hold codes where an uncached run reads floats. So over
 * every codec a cached run computes exactly what an uncached one does, at the price of recomputing up to a block
 * of prompt (one batched pass, about the cost of one decode step).
 *
 * <p><b>Compression</b> ({@link KvCompression}) thins a sequence to its ratio of positions in {@link #compact}:
 * once its prompt is computed, and then whenever it holds a block more than its share. At the first compaction the
 * prompt's K/V, computed in full, are inserted into the index as {@link #release} would (so every later request
 * shares them, compressed or not), the sequence's pins go, and the kept entries are copied into fresh private
 * blocks. Those blocks and the generated tokens are never cached: they depend on the selection. Methods that
 * choose by attention (H2O, SnapKV) compute at least the last {@value #OBSERVED_PROMPT_POSITIONS} prompt positions
 * even when cached, so that they have queries to count (docs/compression.md).
 *
 * <p><b>References.</b> The index holds one reference to each cached block, the store one to each block of
 * its table. On {@link #release} the index takes over the store's reference to each private block it adopts
 * (and drops duplicates); the manager drops the store's references to shared blocks and to private blocks past
 * the inserted tokens. So {@code usedBlocks == cachedBlocks + private blocks of live sequences} at every step,
 * which {@link #checkInvariants()} checks.
 *
 * <p><b>Tiers</b> ({@link KvTiers}, docs/kv-tiers.md). Every full block is written through to the tiers as it
 * enters the index ({@link #release}, and a compressed sequence's first compaction). A request whose memory prefix
 * ends before its last full block asks the tiers for the blocks after it ({@link #startLoad}); once they answer,
 * {@link #promote} copies what they found into fresh blocks and inserts them into the index, where the request's
 * {@link #acquire} matches them like any cached block. Nothing of a load is held by a sequence, so the books
 * below do not change.
 *
 * <p><b>Threads.</b> Not thread-safe: the engine's step loop owns it.
 */
public final class KvCacheManager implements AutoCloseable {
    /**
     * Prompt positions a sequence compressed by attention (H2O, SnapKV) computes even when they are cached, so
     * that the method sees their queries: SnapKV's observation window.
     */
    static final int OBSERVED_PROMPT_POSITIONS = 32;

    private final String modelId;
    private final KvCacheSpec spec;
    private final BlockPool pool;
    /** Whether blocks are float32: cached blocks then continue at any token, else only at block starts. */
    private final boolean lossless;
    private final PrefixIndex index;
    /** The tiers below the pool (none unless given): write-through of full blocks, loads of missing ones. */
    private final KvTiers tiers;
    private final Set<Sequence> live = Collections.newSetFromMap(new IdentityHashMap<>());

    /**
     * @param modelId   the model's identity in the index: sequences of different models never share blocks
     * @param layout    the model's K/V shape
     * @param blockSize positions per block, a power of two
     * @param maxTokens positions the cache holds, rounded up to whole blocks
     * @param policy    which eviction policy orders the cached blocks
     * @throws IllegalArgumentException if {@code blockSize} is not a power of two or {@code maxTokens <= 0}
     */
    public KvCacheManager(String modelId, KvLayout layout, int blockSize, long maxTokens, PolicyKind policy) {
        this(modelId, layout, KvCacheSpec.ofTokens(blockSize, maxTokens, policy));
    }

    /**
     * A cache made as {@code spec} says.
     *
     * @param modelId the model's identity in the index: sequences of different models never share blocks
     * @param layout  the model's K/V shape
     */
    public KvCacheManager(String modelId, KvLayout layout, KvCacheSpec spec) {
        this(modelId, layout, spec, List.of(), Duration.ZERO);
    }

    /**
     * A cache made as {@code spec} says, over {@code tiers} (in the order they are asked), which it owns from now
     * on: {@link #close()} closes them, and so does a constructor that throws.
     *
     * @param modelId     the model's identity in the index and in every tier's keys and records
     * @param layout      the model's K/V shape
     * @param loadTimeout how long a request waits for the tiers before it recomputes
     * @throws IllegalArgumentException if the namespace (model id and layout) is too long for a record
     */
    public KvCacheManager(String modelId, KvLayout layout, KvCacheSpec spec, List<KvTier> tiers,
                          Duration loadTimeout) {
        try {
            this.modelId = Objects.requireNonNull(modelId, "modelId");
            this.spec = Objects.requireNonNull(spec, "spec");
        } catch (RuntimeException e) {
            KvTiers.closeAll(tiers);
            throw e;
        }
        int blockSize = spec.blockSize();
        KvBlockLayout blockLayout;
        try {
            blockLayout = KvBlockLayout.of(layout, blockSize, spec.codec());
            this.pool = spec.maxMemoryBytes() > 0 ? BlockPool.forMemory(blockLayout, spec.maxMemoryBytes())
                    : BlockPool.forTokens(blockLayout, spec.maxTokens());
        } catch (RuntimeException e) {
            KvTiers.closeAll(tiers);
            throw e;
        }
        this.lossless = blockLayout.isLossless();
        try {
            this.index = new PrefixIndex(blockSize,
                    EvictionPolicies.create(spec.policy(), pool.totalBlocks(), blockSize), pool::release);
            String namespace = BlockRecord.namespace(modelId, blockLayout);
            if (!tiers.isEmpty() && namespace.getBytes(StandardCharsets.UTF_8).length
                    > BlockRecord.MAX_NAMESPACE_BYTES) {
                throw new IllegalArgumentException("the tiers' namespace (model id and block layout) has more than "
                        + BlockRecord.MAX_NAMESPACE_BYTES + " bytes: " + namespace);
            }
            this.tiers = new KvTiers(tiers, namespace, blockSize, blockLayout.blockBytes(), loadTimeout);
        } catch (RuntimeException e) {
            pool.close();
            KvTiers.closeAll(tiers);
            throw e;
        }
    }

    /** What this cache is made of. */
    public KvCacheSpec spec() {
        return spec;
    }

    /** Positions the pool's blocks hold: {@code totalBlocks × blockSize}. */
    public long capacityTokens() {
        return (long) pool.totalBlocks() * pool.blockSize();
    }

    /** The model identity the index keys on. */
    public String modelId() {
        return modelId;
    }

    /** Positions per block. */
    public int blockSize() {
        return pool.blockSize();
    }

    /** Blocks of the pool, free or not. */
    public int totalBlocks() {
        return pool.totalBlocks();
    }

    /** Blocks held by the cache or by live sequences. */
    public int usedBlocks() {
        return pool.usedBlocks();
    }

    /** Blocks nobody holds. */
    public int freeBlocks() {
        return pool.freeBlocks();
    }

    /** Bytes of the blocks in use. */
    public long usedBytes() {
        return pool.usedBytes();
    }

    /** Bytes of all blocks. */
    public long capacityBytes() {
        return pool.capacityBytes();
    }

    /** Blocks the prefix index holds. */
    public int cachedBlocks() {
        return index.cachedBlocks();
    }

    /** Blocks pinned by live sequences. */
    public int pinnedBlocks() {
        return index.pinnedBlocks();
    }

    /** Sequences acquired and not yet released or aborted. */
    public int liveSequences() {
        return live.size();
    }

    /** The prefix index's counters: lookups, hits, cached tokens, evictions. */
    public PrefixIndexStats indexStats() {
        return index.stats();
    }

    /**
     * Blocks a sequence of {@code positions} K/V positions needs at most: what must fit in the pool for
     * {@link #acquire} to succeed when nothing else is pinned.
     */
    public long blocksFor(long positions) {
        return Math.ceilDiv(positions, pool.blockSize());
    }

    /**
     * Starts a sequence for {@code promptTokens}: pins its longest cached prefix and builds its store, with room
     * for the prompt and {@code maxNewTokens - 1} generated tokens (the last one sampled is never run through the
     * model). Counts one lookup in the index's statistics.
     *
     * @param maxNewTokens tokens the caller may generate, already capped at the model's context
     * @throws IllegalArgumentException if the prompt is empty or {@code maxNewTokens < 0}
     * @throws IllegalStateException    if the blocks do not fit even after evicting every unpinned cached block;
     *                                  nothing is then held
     */
    public Sequence acquire(int[] promptTokens, int maxNewTokens) {
        if (promptTokens.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens");
        }
        if (maxNewTokens < 0) {
            throw new IllegalArgumentException("maxNewTokens must be >= 0: " + maxNewTokens);
        }
        int prompt = promptTokens.length;
        long positions = prompt + Math.max(0L, maxNewTokens - 1L);
        PrefixMatch match = index.match(modelId, promptTokens);
        Reuse reuse = reuse(match, prompt);
        index.pin(match);
        int[] full = match.fullBlocks();
        int blockSize = pool.blockSize();
        int computeFrom = reuse.computeFrom();
        int shared = reuse.shared();
        boolean privateLast = reuse.privateLast();
        boolean copyPartial = reuse.copyPartial();
        KvCompression compression = spec.compression();
        long needed = blocksFor(positions);
        int fresh = Math.toIntExact(needed - shared);
        int[] freshIds = new int[fresh];
        try {
            makeRoom(fresh, "a sequence of " + prompt + " prompt tokens and " + (positions - prompt)
                    + " more positions");
            if (!pool.allocate(fresh, freshIds, 0)) {
                throw new IllegalStateException("allocation of " + fresh + " blocks failed after eviction");
            }
        } catch (RuntimeException e) {
            index.unpin(match);
            throw e;
        }
        PagedKvStore store = new PagedKvStore(pool, (int) needed);
        for (int i = 0; i < shared; i++) {
            store.appendShared(full[i]);
        }
        if (privateLast) {
            pool.copyPrefix(full[shared], freshIds[0], blockSize);
        } else if (copyPartial) {
            pool.copyPrefix(match.partialBlock(), freshIds[0], match.partialTokens());
        }
        for (int id : freshIds) {
            store.appendBlock(id);
        }
        int reused = reuse.reusedTokens();
        KvCompressor compressor = null;
        if (compression.isEnabled()) {
            KvLayout layout = pool.layout();
            compressor = KvCompressor.create(compression.method(), layout.layers(), layout.heads(),
                    layout.kvHeads(), prompt);
            if (compressor.observesAttention()) {
                store.observeAttention(compressor::observe);
            }
        }
        Sequence sequence = new Sequence(match, store, shared, promptTokens.clone(), computeFrom, reused,
                compressor);
        live.add(sequence);
        return sequence;
    }

    /**
     * How a sequence of {@code prompt} tokens reuses {@code match}: where the model starts, how many cached blocks
     * it shares in place, and whether it copies one. {@link #acquire} builds the store by it and
     * {@link #tryAcquire} counts blocks by it, so an admission never needs more blocks than were checked.
     */
    private Reuse reuse(PrefixMatch match, int prompt) {
        int blockSize = pool.blockSize();
        // Lossy blocks are reused whole and the query's own block is computed again (see the class notes), so the
        // model starts at the block start of the first position it must run.
        int computeFrom = match.isFullHit() ? prompt - 1 : match.cachedTokens();
        KvCompression compression = spec.compression();
        boolean observes = compression.isEnabled() && compression.method() != CompressionMethod.STREAMING;
        if (observes) {
            computeFrom = Math.min(computeFrom, Math.max(0, prompt - OBSERVED_PROMPT_POSITIONS));
        }
        if (lossless && !observes) {
            boolean privateLast = match.isFullHit() && !match.hasPartial();
            int shared = privateLast ? match.fullBlockCount() - 1 : match.fullBlockCount();
            return new Reuse(computeFrom, shared, privateLast, match.hasPartial(), match.cachedTokens());
        }
        computeFrom = computeFrom / blockSize * blockSize;
        return new Reuse(computeFrom, computeFrom / blockSize, false, false, computeFrom);
    }

    /**
     * A sequence's use of its cached prefix.
     *
     * @param computeFrom  the first prompt position the model runs
     * @param shared       leading cached blocks read in place
     * @param privateLast  whether the last cached full block is copied (a full hit writes its last position)
     * @param copyPartial  whether the cached part of a block is copied
     * @param reusedTokens prompt tokens read from the cache instead of computed
     */
    private record Reuse(int computeFrom, int shared, boolean privateLast, boolean copyPartial, int reusedTokens) {
    }

    /**
     * Thins a compressed sequence back to its share of positions once it holds a block more than that share;
     * does nothing without compression. Call after the prompt's prefill and after every decode step.
     */
    public void compact(Sequence sequence) {
        checkLive(sequence);
        KvCompressor compressor = sequence.compressor;
        PagedKvStore store = sequence.store;
        int positions = store.positions();
        if (compressor == null || positions < sequence.promptTokens) {
            return;
        }
        int entries = store.entries();
        int keep = keptEntries(positions);
        // The prompt is thinned at once; generation a block at a time, so compaction runs once per block.
        int allowed = sequence.compacted ? keep + pool.blockSize() : keep;
        if (entries > allowed) {
            int blocks = Math.toIntExact(blocksFor(keep + 1L));
            int[] fresh = new int[blocks];
            if (!tryMakeRoom(blocks) || !pool.allocate(blocks, fresh, 0)) {
                // The kept entries need fresh blocks while the old ones are still read; with the pool dry the
                // sequence stays a little over its share until a later step finds room.
                return;
            }
            int[][][] kept = compressor.select(entries, keep);
            int[] old = store.compact(kept, keep, fresh);
            compressor.compacted(kept, entries);
            if (sequence.compacted) {
                pool.releaseTailFirst(old, 0, old.length);
            } else {
                cachePromptAndLetGo(sequence, old);
            }
        }
        // Room for the next position; when there is none, the scheduler's allocateSlots asks again (or preempts).
        allocateSlots(sequence, positions + 1);
    }

    /** Evicts unpinned cached blocks until {@code blocks} are free; false if even that is not enough. */
    private boolean tryMakeRoom(int blocks) {
        int missing = blocks - pool.freeBlocks();
        if (missing > 0) {
            index.evict(missing);
        }
        return pool.freeBlocks() >= blocks;
    }

    /** Entries a compressed sequence of {@code positions} keeps: its ratio of them, rounded up, at least one. */
    private int keptEntries(long positions) {
        return (int) Math.max(1, Math.ceil(spec.compression().ratio() * positions));
    }

    /**
     * At a sequence's first compaction: its prompt's K/V, computed in full, go into the prefix index for every
     * later request (the old table's blocks, as {@link #release} does), and its pins go: from now on it reads only
     * its own compacted blocks, which are never shared.
     */
    private void cachePromptAndLetGo(Sequence sequence, int[] oldTable) {
        writeThrough(sequence.prompt, sequence.promptTokens, oldTable);
        try {
            index.insert(sequence.match, sequence.prompt, sequence.promptTokens, oldTable);
        } finally {
            index.unpin(sequence.match);
        }
        int inserted = Math.ceilDiv(sequence.promptTokens, pool.blockSize());
        pool.releaseTailFirst(oldTable, inserted, oldTable.length);
        pool.releaseTailFirst(oldTable, 0, sequence.sharedBlocks);
        sequence.sharedBlocks = 0;
        sequence.givenAway = 0;
        sequence.compacted = true;
    }

    /**
     * Bytes of K/V per position for one sequence of {@code sequenceLength} positions: its blocks (codes and
     * scales) and its full-precision window, divided by its positions.
     */
    public double kvBytesPerToken(int sequenceLength) {
        if (sequenceLength <= 0) {
            throw new IllegalArgumentException("sequenceLength must be positive: " + sequenceLength);
        }
        long window = lossless ? 0 : FullPrecisionWindow.steadyBytes(pool.layout(), pool.blockSize());
        long entries = spec.compression().isEnabled() ? keptEntries(sequenceLength) : sequenceLength;
        return (double) (blocksFor(entries) * pool.blockBytes() + window) / sequenceLength;
    }

    /** Evicts until {@code blocks} are free, or says why they cannot be. */
    private void makeRoom(int blocks, String what) {
        if (!tryMakeRoom(blocks)) {
            throw new IllegalStateException("the KV cache cannot hold " + what + ": it needs " + blocks
                    + " free blocks of "
                    + pool.blockSize() + " positions, " + pool.freeBlocks() + " of " + pool.totalBlocks()
                    + " are free after evicting every unpinned cached block (" + index.pinnedBlocks() + " pinned)");
        }
    }

    /**
     * Ends a sequence: caches the K/V of {@code tokens[0, tokenCount)} (prompt and generated tokens whose K/V
     * were written) for later requests, unpins its prefix and frees the blocks it still owns.
     *
     * @param tokens     prompt then generated tokens
     * @param tokenCount tokens whose K/V are written: at least the prompt, at most the store's capacity
     * @throws IllegalArgumentException if the counts do not fit the sequence
     * @throws IllegalStateException    if the sequence was already released or aborted, or is another manager's
     */
    public void release(Sequence sequence, int[] tokens, int tokenCount) {
        checkLive(sequence);
        if (tokenCount < sequence.promptTokens || tokenCount > tokens.length
                || tokenCount > sequence.store.capacity()) {
            throw new IllegalArgumentException("token count " + tokenCount + " outside [" + sequence.promptTokens
                    + ", " + Math.min(tokens.length, sequence.store.capacity()) + "]");
        }
        live.remove(sequence);
        if (sequence.compacted) {
            // Its entries depend on the selection: valid for no other request (docs/compression.md).
            sequence.store.releaseBlocks();
            return;
        }
        int[] table = sequence.store.blocks();
        writeThrough(tokens, tokenCount, table);
        PrefixChain chain = sequence.chain;
        // Blocks a sliding window passed are the index's already (or freed); the rest join after them if they can.
        boolean joins = chain == null || chain.isIntact();
        try {
            if (chain == null) {
                index.insert(sequence.match, tokens, tokenCount, table);
            } else if (joins) {
                index.insert(chain, tokens, tokenCount, table);
            }
        } finally {
            index.unpin(sequence.match);
        }
        int inserted = joins ? Math.ceilDiv(tokenCount, pool.blockSize()) : sequence.givenAway;
        pool.releaseTailFirst(table, inserted, table.length);
        pool.releaseTailFirst(table, 0, sequence.sharedBlocks);
    }

    /**
     * Gives the prefix index the blocks of {@code sequence} that no later query of it reads. With a sliding window
     * on every layer ({@link KvCacheSpec#attentionSpan()}), the query at position {@code computed} reads positions
     * from {@code computed + 1 - span} on, so each block wholly before that becomes a cached block now, unpinned,
     * which eviction may take when memory is short (vLLM frees such blocks the same way); a sequence thus holds
     * about a window's worth of blocks however long it grows. Once eviction has taken one of them, the later ones
     * cannot join the tree and are freed instead. The cached prefix the sequence shares stays pinned until it
     * ends. Does nothing for a model without such a window, nor for a compressed sequence, which keeps its own
     * selection of entries. Call after every step that computed rows of the sequence.
     *
     * @param tokens   the sequence's tokens, prompt first
     * @param computed positions whose K/V are written
     */
    public void slideWindow(Sequence sequence, int[] tokens, int computed) {
        int span = spec.attentionSpan();
        if (span == KvCacheSpec.FULL_ATTENTION || sequence.compressor != null) {
            return;
        }
        checkLive(sequence);
        int passed = (int) (Math.max(0L, (long) computed + 1 - span) / pool.blockSize());
        if (passed <= sequence.givenAway) {
            return;
        }
        if (sequence.chain == null) {
            sequence.chain = index.chain(sequence.match, sequence.sharedBlocks);
        }
        for (int b = sequence.givenAway; b < passed; b++) {
            int id = sequence.store.handOver(b);
            sequence.givenAway = b + 1;
            if (!tiers.isEmpty()) {
                // Offered before the index may give the block back as a duplicate: a tier copies it now.
                tiers.offer(nextTierKey(sequence, tokens, b), pool.contents(id));
            }
            if (!index.handOver(sequence.chain, tokens, id)) {
                pool.release(id);
            }
        }
    }

    /**
     * The tier key of block {@code b} of {@code tokens}, chained from the key of block {@code b - 1} that the
     * sequence kept from its last given-away block, so that a long sequence hashes each block once instead of its
     * whole prefix at every block the window passes (the first call after shared blocks hashes those once).
     */
    private BlockKey nextTierKey(Sequence sequence, int[] tokens, int b) {
        int blockSize = pool.blockSize();
        BlockKey previous = b == 0 ? null
                : sequence.lastTierKey != null ? sequence.lastTierKey : tiers.keys(tokens, b)[b - 1];
        BlockKey key = previous == null ? tiers.keys(tokens, 1)[0]
                : previous.next(tokens, b * blockSize, (b + 1) * blockSize);
        sequence.lastTierKey = key;
        return key;
    }

    /**
     * Ends a sequence without caching anything (a failure or a cancellation): unpins its prefix and frees the
     * blocks it allocated. Does nothing for a sequence already ended.
     */
    public void abort(Sequence sequence) {
        if (!live.remove(sequence)) {
            return;
        }
        if (!sequence.compacted) {
            index.unpin(sequence.match);
        }
        sequence.store.releaseBlocks();
    }

    private void checkLive(Sequence sequence) {
        if (!live.contains(sequence)) {
            throw new IllegalStateException("the sequence is not live in this manager: released, aborted or foreign");
        }
    }

    /**
     * Re-checks the books: the index's and the pool's own invariants; every block in use is either cached or
     * private to exactly one live sequence; shared blocks of live sequences are cached; nothing is pinned when
     * no sequence is live.
     *
     * @throws IllegalStateException naming the first broken invariant
     */
    public void checkInvariants() {
        index.checkInvariants();
        pool.checkInvariants();
        long owned = 0;
        for (Sequence s : live) {
            int[] table = s.store.blocks();
            for (int i = 0; i < table.length; i++) {
                if (table[i] == BlockTable.NO_BLOCK) {
                    if (i < s.sharedBlocks || i >= s.givenAway) {
                        throw new IllegalStateException("block " + i + " of a live sequence is missing outside the "
                                + "blocks its window passed");
                    }
                    continue;
                }
                if (i >= s.sharedBlocks && i < s.givenAway) {
                    throw new IllegalStateException("block " + table[i] + " was given away but is still in the table");
                }
                boolean cached = index.isCached(table[i]);
                if (i < s.sharedBlocks && !cached) {
                    throw new IllegalStateException("shared block " + table[i] + " of a live sequence is not cached");
                }
                if (i >= s.sharedBlocks) {
                    if (cached || pool.refCount(table[i]) != 1) {
                        throw new IllegalStateException("private block " + table[i] + " has "
                                + pool.refCount(table[i]) + " holders" + (cached ? " and is cached" : ""));
                    }
                    owned++;
                }
            }
        }
        if (pool.usedBlocks() != index.cachedBlocks() + owned) {
            throw new IllegalStateException(pool.usedBlocks() + " blocks in use, but " + index.cachedBlocks()
                    + " cached and " + owned + " owned by " + live.size() + " live sequences");
        }
        if (live.isEmpty() && index.pinnedBlocks() != 0) {
            throw new IllegalStateException(index.pinnedBlocks() + " blocks pinned with no live sequence");
        }
    }

    /**
     * Frees the pool's memory and closes the tiers (their queued writes finish or are dropped, as each tier's
     * {@link KvTier#close()} says). Live sequences' stores may not be used afterwards. Idempotent.
     */
    @Override
    public void close() {
        if (!pool.isClosed()) {
            pool.close();
            tiers.close();
        }
    }

    // ---- Tiers (docs/kv-tiers.md): write-through of full blocks, loads of the blocks after a memory prefix ----

    /** The tiers below the pool, with their counters; empty when none were given. */
    public KvTiers tiers() {
        return tiers;
    }

    /**
     * Offers the full blocks of {@code tokens[0, tokenCount)}, held by the caller in {@code table}, to the tiers
     * that are not known to hold them: they are about to enter the prefix index (see {@link KvTiers}).
     */
    private void writeThrough(int[] tokens, int tokenCount, int[] table) {
        if (tiers.isEmpty()) {
            return;
        }
        BlockKey[] keys = tiers.keys(tokens, tokenCount / pool.blockSize());
        for (int i = 0; i < keys.length; i++) {
            if (table[i] != BlockTable.NO_BLOCK) {  // given away: offered then (slideWindow)
                tiers.offer(keys[i], pool.contents(table[i]));
            }
        }
    }

    /**
     * Asks the tiers for the full blocks of {@code tokens[0, length)} after its memory-resident prefix, if that
     * prefix ends before the last full block; the caller polls the load and hands it to {@link #promote}.
     *
     * @return the load, or null when there are no tiers or nothing to ask for
     */
    public TierLoad startLoad(int[] tokens, int length, long nowNanos) {
        if (tiers.isEmpty()) {
            return null;
        }
        int[] prompt = Arrays.copyOf(tokens, length);
        int resident = index.match(modelId, prompt).fullBlockCount();
        int fullBlocks = length / pool.blockSize();
        if (resident >= fullBlocks) {
            return null;
        }
        BlockKey[] keys = tiers.keys(prompt, fullBlocks);
        return tiers.load(Arrays.copyOfRange(keys, resident, fullBlocks), resident, nowNanos);
    }

    /**
     * Brings what {@code load} found into memory: the leading sound records after the memory prefix as it is now
     * go into fresh blocks, which enter the prefix index as ordinary cached blocks (the request then matches them
     * and counts them as cached tokens). Counts a fallback to recomputing when the load timed out, a record was
     * refused, the memory prefix was evicted meanwhile, or the pool had no room for all of them.
     *
     * @param tokens the request's tokens, of which the first {@code length} were looked up
     * @return blocks promoted
     */
    public int promote(TierLoad load, int[] tokens, int length) {
        if (!load.isDone()) {
            tiers.countRecomputed();
            return 0;
        }
        try {
            return promoteFound(load, tokens, length);
        } finally {
            tiers.release(load); // the payloads are copied into the pool, or not wanted
        }
    }

    private int promoteFound(TierLoad load, int[] tokens, int length) {
        long refusedBefore = tiers.rejectedRecords();
        List<MemorySegment> payloads = tiers.payloads(load);
        boolean whole = tiers.rejectedRecords() == refusedBefore;
        int[] prompt = Arrays.copyOf(tokens, length);
        PrefixMatch match = index.match(modelId, prompt);
        int resident = match.fullBlockCount();
        int first = load.firstBlock();
        int end = first + payloads.size();
        if (resident >= end) {
            if (!whole) {
                tiers.countRecomputed();
            }
            return 0;
        }
        if (resident < first) {
            tiers.countRecomputed();
            return 0;
        }
        int wanted = end - resident;
        int[] ids;
        index.pin(match);
        try {
            tryMakeRoom(wanted);
            int room = Math.min(wanted, pool.freeBlocks());
            ids = new int[room];
            pool.allocate(room, ids, 0);
            for (int i = 0; i < room; i++) {
                pool.copyIn(ids[i], payloads.get(resident - first + i));
            }
            int[] table = Arrays.copyOf(match.fullBlocks(), resident + room);
            System.arraycopy(ids, 0, table, resident, room);
            if (room > 0) {
                index.insert(match, prompt, (resident + room) * pool.blockSize(), table);
            }
        } finally {
            index.unpin(match);
        }
        tiers.countPromoted(ids.length);
        if (ids.length < wanted || !whole) {
            tiers.countRecomputed();
        }
        return ids.length;
    }

    // ---- The scheduler's contract (vLLM v1): cached prefix, admission, growth by block, preemption ----
    // Sequences admitted with tryAcquire hold blocks for their known tokens only and grow a block at a time
    // with allocateSlots; when the pool runs dry the scheduler preempts one and it gives back what it holds.

    /**
     * Tokens of the longest cached prefix of {@code tokens}, without pinning or counting a lookup: what a
     * scheduler ranks waiting requests by (SGLang's longest-prefix-first).
     *
     * @param tokens at least one token
     */
    public int cachedPrefixTokens(int[] tokens) {
        return index.match(modelId, tokens).cachedTokens();
    }

    /**
     * Starts a sequence for {@code tokens} as {@link #acquire} does, with blocks for those tokens only (the
     * generation grows through {@link #allocateSlots}), if the pool can give the blocks its cached prefix does not
     * cover: from the free blocks and the cached blocks no live sequence pins. Decides before touching anything,
     * so a refusal changes neither the index's statistics nor the policy's view.
     *
     * @param tokens        at least one token
     * @param reserveBlocks blocks that must stay to be had afterwards (headroom for running sequences to grow)
     * @return the sequence, or null if its blocks cannot be had now
     */
    public Sequence tryAcquire(int[] tokens, int reserveBlocks) {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens");
        }
        PrefixMatch match = index.match(modelId, tokens);
        long fresh = blocksFor(tokens.length) - reuse(match, tokens.length).shared();
        if (fresh + reserveBlocks > reclaimableBlocks() - unpinnedBlocksOf(match)) {
            return null;
        }
        return acquire(tokens, 1);
    }

    /**
     * Makes room in {@code sequence}'s store for positions {@code [0, positions)}, taking blocks from the free
     * ones and, when those are short, evicting cached blocks no live sequence pins.
     *
     * @return false, holding nothing more, if the pool cannot give the blocks: the caller preempts a sequence
     */
    public boolean allocateSlots(Sequence sequence, int positions) {
        checkLive(sequence);
        // In entries: a compressed store holds fewer entries than positions (its capacity counts both).
        int missing = Math.toIntExact(blocksFor(Math.max(0L, (long) positions - sequence.store.capacity())));
        if (missing <= 0) {
            return true;
        }
        if (missing > reclaimableBlocks()) {
            return false;
        }
        int[] ids = new int[missing];
        if (!tryMakeRoom(missing) || !pool.allocate(missing, ids, 0)) {
            throw new IllegalStateException("allocation of " + missing + " blocks failed after eviction");
        }
        for (int id : ids) {
            sequence.store.appendBlock(id);
        }
        return true;
    }

    /**
     * Ends a running sequence to free its blocks for others (preemption by recompute): caches the K/V of the
     * first {@code computed} positions of {@code tokens} when they cover its prompt, so that the request, when
     * admitted again with the same tokens, finds them cached; otherwise frees them as {@link #abort} does.
     *
     * @param tokens   the sequence's tokens, prompt first
     * @param computed positions whose K/V the model has written (positions before {@link Sequence#computeFrom()}
     *                 count as written: they came from the cache)
     */
    public void preempt(Sequence sequence, int[] tokens, int computed) {
        checkLive(sequence);
        int written = Math.max(computed, sequence.cachedTokens());
        if (written >= sequence.promptTokens) {
            release(sequence, tokens, written);
        } else {
            abort(sequence);
        }
    }

    /** Blocks a new allocation can get: the free ones and the cached ones no live sequence pins. */
    private int reclaimableBlocks() {
        return pool.freeBlocks() + index.cachedBlocks() - index.pinnedBlocks();
    }

    /**
     * Blocks of {@code match} nobody pins: they count as reclaimable until the match is pinned, so an admission
     * check must not count them twice. Asked of the index itself: a compacted sequence is live but pins nothing.
     */
    private int unpinnedBlocksOf(PrefixMatch match) {
        int unpinned = 0;
        for (int id : match.fullBlocks()) {
            unpinned += index.isPinned(id) ? 0 : 1;
        }
        if (match.hasPartial() && !index.isPinned(match.partialBlock())) {
            unpinned++;
        }
        return unpinned;
    }

    /**
     * One request's place in the cache: its store and what of its prompt was cached. Handed out by
     * {@link #acquire}; ended by {@link #release} or {@link #abort}.
     */
    public static final class Sequence {
        private final PrefixMatch match;
        private final PagedKvStore store;
        /** Leading table entries that are cached blocks read in place (the store holds an extra reference). */
        private int sharedBlocks;
        private final int[] prompt;
        private final int promptTokens;
        private final int computeFrom;
        private final int reusedTokens;
        /** Chooses what a compressed sequence keeps; null without compression. */
        private final KvCompressor compressor;
        /** Whether the sequence has been compacted: its prompt is cached and its pins are gone. */
        private boolean compacted;
        /**
         * Table entries before this one are the shared blocks and those given to the index as a sliding window
         * passed them ({@link #slideWindow}); it starts at {@link #sharedBlocks}.
         */
        private int givenAway;
        /** Where the given-away blocks continue the tree; null until the first is given away. */
        private PrefixChain chain;
        /** The tier key of the last given-away block (block {@code givenAway - 1}); null before one, or no tiers. */
        private BlockKey lastTierKey;

        private Sequence(PrefixMatch match, PagedKvStore store, int sharedBlocks, int[] prompt, int computeFrom,
                         int reusedTokens, KvCompressor compressor) {
            this.match = match;
            this.store = store;
            this.sharedBlocks = sharedBlocks;
            this.givenAway = sharedBlocks;
            this.prompt = prompt;
            this.promptTokens = prompt.length;
            this.computeFrom = computeFrom;
            this.reusedTokens = reusedTokens;
            this.compressor = compressor;
        }

        /** Counts the attention the last forward pass observed (compression by attention): its rows ran. */
        public void commitPass() {
            if (compressor != null) {
                compressor.commitPass();
            }
        }

        /**
         * Forgets what a failed forward pass wrote from {@code position} on, and the attention it observed, so that
         * its rows run again as if it never ran.
         */
        public void discardFrom(int position) {
            store.discardFrom(position);
            if (compressor != null) {
                compressor.discardPass();
            }
        }

        /** Whether compression has thinned the sequence (its entries are then fewer than its positions). */
        public boolean isCompacted() {
            return compacted;
        }

        /** The sequence's K/V: cached prefix first, then room for the rest of the prompt and the generation. */
        public PagedKvStore store() {
            return store;
        }

        /** Prompt tokens found in the cache (what hit rates count). */
        public int cachedTokens() {
            return match.cachedTokens();
        }

        /**
         * Prompt tokens whose cached K/V the sequence reads instead of computing: all those found over float32
         * blocks; over lossy blocks, or when compression must see the prompt's last queries, only those of the
         * whole blocks before {@link #computeFrom()}.
         */
        public int reusedTokens() {
            return reusedTokens;
        }

        /** Whether every prompt token was cached (a request hit). */
        public boolean isFullHit() {
            return match.isFullHit();
        }

        /**
         * The first prompt position the model must run: the cached tokens, or the last prompt position on a full
         * hit (its logits are needed; its K/V go to a private block).
         */
        public int computeFrom() {
            return computeFrom;
        }

        /** Tokens of the prompt. */
        public int promptTokens() {
            return promptTokens;
        }

        @Override
        public String toString() {
            return "Sequence[prompt " + promptTokens + ", cached " + cachedTokens() + ", " + store + "]";
        }
    }
}
