package dev.ultrakv.kvcache;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * A fixed number of KV blocks in one off-heap allocation, handed out by id. A block holds the keys and values of
 * every layer for {@link #blockSize()} consecutive positions (see {@link KvBlockLayout}); block ids are
 * {@code [0, totalBlocks())}.
 *
 * <p>Contract in brief:
 * <ul>
 *   <li>{@link #allocate()} takes the block at the head of the free queue, gives it a reference count of 1 and
 *       returns its id, or {@code -1} when every block is in use; the caller (the cache manager) then asks the
 *       prefix index to evict and tries again. The pool never knows the index.</li>
 *   <li>{@link #retain} and {@link #release} count holders (a sequence, the prefix index). When the count
 *       reaches 0 the block goes to the tail of the free queue at once: freeing is the pool's job.</li>
 *   <li>A free block keeps its contents until {@link #allocate()} hands it out again. Each allocation bumps the
 *       block's {@link #generation}; {@link #revive(int, int)} takes a still-free block of the same generation
 *       back out of the middle of the queue, so an evicted block whose contents are still resident can be
 *       reused without recomputing it.</li>
 * </ul>
 * Memory is allocated once, in the constructor, 64-byte aligned; {@link #capacityBytes()} never exceeds the
 * budget asked for. {@link #close()} frees it; any later use of blocks or memory throws
 * {@link IllegalStateException}.
 *
 * <h2>Notes</h2>
 * <b>Two parts.</b> The bookkeeping (ids, reference counts, generations and the free queue, vLLM v1's O(1)
 * doubly linked list) is a {@link BlockAllocator}; the bytes are a {@link BlockStorage} (off-heap now, a device
 * buffer later). The pool checks every call and pairs the two, so neither knows the other. A sequence's blocks are
 * released tail first ({@link #releaseTailFirst}), so the ends of cached chains are reused before their
 * beginnings, which more requests share. {@link #contents} and {@link #copyIn} move one whole block to and from a
 * tier's record (docs/kv-tiers.md).
 *
 * <p><b>Threads.</b> Not thread-safe: one thread (the engine's step loop) allocates, retains, releases and
 * copies. The memory itself lives in a shared arena, so that attention running on every core may read blocks.
 *
 * <p><b>What the budget covers.</b> The off-heap K/V bytes. Bookkeeping is four ints per block on the heap.
 */
public final class BlockPool implements AutoCloseable {
    /** Positions per block unless asked otherwise: vLLM's default, a good balance of sharing and table size. */
    public static final int DEFAULT_BLOCK_SIZE = 16;
    /** Returned by {@link #allocate()} when no block is free. */
    public static final int NO_BLOCK = -1;
    /** Most blocks a pool may hold: block ids are ints, and the two sentinels take two more list nodes. */
    static final int MAX_BLOCKS = Integer.MAX_VALUE - 2;

    private final KvBlockLayout blockLayout;
    private final int totalBlocks;
    private final BlockAllocator allocator;
    private final BlockStorage storage;
    private boolean closed;

    /** A pool of {@code blocks} blocks, which the factories have checked against {@link KvMemoryLimits}. */
    private BlockPool(KvBlockLayout blockLayout, long blocks) {
        this.blockLayout = blockLayout;
        this.totalBlocks = Math.toIntExact(blocks);
        this.allocator = new BlockAllocator(totalBlocks);
        this.storage = new BlockStorage(blockLayout, totalBlocks);
    }

    /**
     * A float32 pool for at least {@code maxTokens} positions, rounded up to whole blocks.
     *
     * @param blockSize positions per block; a power of two (see {@link #DEFAULT_BLOCK_SIZE})
     * @throws IllegalArgumentException if {@code blockSize} is not a power of two or {@code maxTokens <= 0}
     */
    public static BlockPool forTokens(KvLayout layout, int blockSize, long maxTokens) {
        return forTokens(KvBlockLayout.float32(layout, blockSize), maxTokens);
    }

    /**
     * A pool of blocks laid out as {@code blockLayout} (any codec) for at least {@code maxTokens} positions,
     * rounded up to whole blocks: a smaller codec takes fewer bytes for the same positions.
     *
     * @throws IllegalArgumentException if {@code maxTokens <= 0} or the blocks do not fit in memory
     *                                  ({@link KvMemoryLimits})
     */
    public static BlockPool forTokens(KvBlockLayout blockLayout, long maxTokens) {
        if (maxTokens <= 0) {
            throw new IllegalArgumentException("maxTokens must be positive: " + maxTokens);
        }
        long blocks = Math.ceilDiv(maxTokens, blockLayout.blockSize());
        KvMemoryLimits.check(blockLayout, blocks, "maxTokens " + maxTokens);
        return new BlockPool(blockLayout, blocks);
    }

    /**
     * A float32 pool of as many blocks as fit in {@code maxMemoryBytes}: {@link #capacityBytes()} is at most the
     * budget.
     *
     * @param blockSize positions per block; a power of two (see {@link #DEFAULT_BLOCK_SIZE})
     * @throws IllegalArgumentException if {@code blockSize} is not a power of two or the budget holds no block
     */
    public static BlockPool forMemory(KvLayout layout, int blockSize, long maxMemoryBytes) {
        return forMemory(KvBlockLayout.float32(layout, blockSize), maxMemoryBytes);
    }

    /**
     * A pool of as many blocks laid out as {@code blockLayout} as fit in {@code maxMemoryBytes}: a smaller codec
     * holds more positions in the same budget.
     *
     * @throws IllegalArgumentException if the budget holds no block, or more than fits in memory
     *                                  ({@link KvMemoryLimits})
     */
    public static BlockPool forMemory(KvBlockLayout blockLayout, long maxMemoryBytes) {
        long blocks = maxMemoryBytes / blockLayout.blockBytes();
        if (maxMemoryBytes <= 0 || blocks == 0) {
            throw new IllegalArgumentException("maxMemoryBytes " + maxMemoryBytes + " holds no block of "
                    + blockLayout.blockBytes() + " bytes");
        }
        KvMemoryLimits.check(blockLayout, blocks, "maxMemoryBytes " + maxMemoryBytes);
        return new BlockPool(blockLayout, blocks);
    }

    /** Where each block's keys and values lie in {@link #memory()}. */
    public KvBlockLayout blockLayout() {
        return blockLayout;
    }

    /** The shape of the keys and values stored. */
    public KvLayout layout() {
        return blockLayout.layout();
    }

    /** Positions per block. */
    public int blockSize() {
        return blockLayout.blockSize();
    }

    /** Bytes of one block. */
    public long blockBytes() {
        return blockLayout.blockBytes();
    }

    /** Blocks in the pool, free or not. */
    public int totalBlocks() {
        return totalBlocks;
    }

    /** Off-heap bytes of all blocks: {@code totalBlocks() × blockBytes()}, allocated once. */
    public long capacityBytes() {
        return (long) totalBlocks * blockLayout.blockBytes();
    }

    /** Blocks in the free queue (reference count 0), including evicted blocks whose contents are resident. */
    public int freeBlocks() {
        checkOpen();
        return allocator.freeBlocks();
    }

    /** Blocks with at least one holder. */
    public int usedBlocks() {
        checkOpen();
        return totalBlocks - allocator.freeBlocks();
    }

    /** Bytes of the blocks with at least one holder. */
    public long usedBytes() {
        return (long) usedBlocks() * blockLayout.blockBytes();
    }

    /**
     * Takes the block at the head of the free queue, with one reference, for the caller to fill.
     *
     * @return the block id, or {@link #NO_BLOCK} ({@code -1}) if none is free
     */
    public int allocate() {
        checkOpen();
        return allocator.allocate();
    }

    /**
     * Allocates {@code count} blocks into {@code ids[offset, offset + count)}, or none at all.
     *
     * @return false, with nothing allocated, if fewer than {@code count} blocks are free
     */
    public boolean allocate(int count, int[] ids, int offset) {
        checkOpen();
        Objects.checkFromIndexSize(offset, count, ids.length);
        if (count > allocator.freeBlocks()) {
            return false;
        }
        for (int i = 0; i < count; i++) {
            ids[offset + i] = allocator.allocate();
        }
        return true;
    }

    /**
     * Adds a holder to a block in use (e.g. the prefix index keeping it, or a request sharing a cached prefix).
     *
     * @throws IllegalStateException if the block is free: a free block may already hold another tenant's data;
     *                               use {@link #revive(int, int)}
     */
    public void retain(int id) {
        checkOpen();
        allocator.retain(id);
    }

    /**
     * Drops a holder; the last one sends the block to the tail of the free queue, contents kept.
     *
     * @throws IllegalStateException if the block is already free
     */
    public void release(int id) {
        checkOpen();
        allocator.release(id);
    }

    /**
     * Releases {@code ids[from, to)} from last to first: a sequence's blocks are freed tail first, so the free
     * queue hands out the ends of its chains before their shared beginnings.
     */
    public void releaseTailFirst(int[] ids, int from, int to) {
        Objects.checkFromToIndex(from, to, ids.length);
        for (int i = to - 1; i >= from; i--) {
            release(ids[i]);
        }
    }

    /**
     * Takes a free block back out of the free queue, with one reference, if it has not been handed out since
     * it was freed, so that its resident contents can be used again.
     *
     * @param generation the block's {@link #generation} when its contents were written
     * @return true if revived; false if the block is in use or was allocated again since (contents gone)
     */
    public boolean revive(int id, int generation) {
        checkOpen();
        return allocator.revive(id, generation);
    }

    /** How many times {@code id} has been allocated: with the id, names one tenancy of the block. */
    public int generation(int id) {
        checkOpen();
        return allocator.generation(id);
    }

    /** Holders of {@code id}; 0 when it is free. */
    public int refCount(int id) {
        checkOpen();
        return allocator.refCount(id);
    }

    /**
     * Copies the first {@code tokens} positions of every layer's keys and values from block {@code src} to block
     * {@code dst}: copy-on-write for a cached partial block that a request continues differently.
     *
     * @param dst a block held by the caller alone (reference count 1), so that no other holder sees it change
     * <p>Only blocks of per-slot keys can be cut: a per-channel key run ({@link KvBlockLayout#channelKeys()})
     * exists only for a whole block. The prefix cache copies partial blocks of lossless caches alone (a lossy
     * cache reuses whole blocks), so this never arises there.
     *
     * @throws IllegalStateException    if either block is free, {@code dst} has other holders, or keys are per
     *                                  channel
     * @throws IllegalArgumentException if {@code src == dst} or {@code tokens} is outside {@code [0, blockSize]}
     */
    public void copyPrefix(int src, int dst, int tokens) {
        if (blockLayout.channelKeys() != null) {
            throw new IllegalStateException("copyPrefix of " + blockLayout + ": per-channel key runs exist only "
                    + "for whole blocks");
        }
        checkInUse(src);
        checkInUse(dst);
        if (src == dst) {
            throw new IllegalArgumentException("copyPrefix from block " + src + " onto itself");
        }
        checkSoleHolder(dst);
        if (tokens < 0 || tokens > blockSize()) {
            throw new IllegalArgumentException("tokens " + tokens + " outside [0, " + blockSize() + "]");
        }
        storage.copyPrefix(src, dst, tokens);
    }

    /**
     * Block {@code id}'s bytes in its codec's layout, viewed in place and read-only: what a tier stores for it
     * (the record encoder copies them on the calling thread, the step loop; the I/O is the tier's).
     *
     * @throws IllegalStateException if the block is free (its bytes may be another tenant's)
     */
    public MemorySegment contents(int id) {
        checkInUse(id);
        return storage.block(id).asReadOnly();
    }

    /**
     * Fills block {@code id} with {@code payload}, a whole block's bytes as {@link #contents} gave them (a tier's
     * record of a block of the same layout).
     *
     * @throws IllegalStateException    if the block is free or has other holders
     * @throws IllegalArgumentException if the payload is not exactly {@link #blockBytes()} long
     */
    public void copyIn(int id, MemorySegment payload) {
        checkInUse(id);
        checkSoleHolder(id);
        storage.copyIn(id, payload);
    }

    /** The memory of all blocks, laid out by {@link #blockLayout()}; readable from any thread. */
    MemorySegment memory() {
        checkOpen();
        return storage.memory();
    }

    /** Whether {@link #close()} has run. */
    public boolean isClosed() {
        return closed;
    }

    /** Frees the blocks' memory. Idempotent; blocks and memory may not be used afterwards. */
    @Override
    public void close() {
        if (!closed) {
            closed = true;
            storage.close();
        }
    }

    void checkOpen() {
        if (closed) {
            throw new IllegalStateException("the block pool is closed");
        }
    }

    private void checkInUse(int id) {
        checkOpen();
        allocator.checkInUse(id);
    }

    private void checkSoleHolder(int id) {
        int holders = allocator.refCount(id);
        if (holders != 1) {
            throw new IllegalStateException("block " + id + " has " + holders
                    + " holders; only a block held by one may be written");
        }
    }

    /** The free queue from head to tail (for tests and debugging; allocates). */
    int[] freeQueue() {
        checkOpen();
        return allocator.freeQueue();
    }

    /**
     * Re-checks the pool's invariants: the queue is linked both ways between its sentinels, holds each free
     * block exactly once and no block in use, and {@link #freeBlocks()} counts it.
     *
     * @throws IllegalStateException naming the first broken invariant
     */
    void checkInvariants() {
        checkOpen();
        allocator.checkInvariants();
    }

    @Override
    public String toString() {
        return "BlockPool[" + totalBlocks + " blocks, " + (closed ? "closed" : allocator.freeBlocks() + " free")
                + ", " + blockLayout + "]";
    }
}
