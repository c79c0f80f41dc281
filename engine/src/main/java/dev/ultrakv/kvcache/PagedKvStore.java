package dev.ultrakv.kvcache;

import dev.ultrakv.tensor.Kernels;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;

/**
 * One sequence's keys and values in blocks of a {@link BlockPool}: position {@code p} lives in block
 * {@code blocks()[p / blockSize]} at slot {@code p % blockSize}. The blocks need not be adjacent, and the first
 * ones may be shared with other sequences through the prefix cache.
 *
 * <pre>
 * positions  0 … 15 | 16 … 31 | 32 … 40
 * table      [  7   |   3     |   12    ]     blockSize 16, capacity 48
 *             shared (cached)  fresh
 * </pre>
 *
 * <p><b>References.</b> The store holds one reference to each block in its table: {@link #appendBlock} takes
 * over the caller's (a block fresh from {@link BlockPool#allocate()}), {@link #appendShared} adds its own (a
 * cached block the prefix index keeps too). {@link #releaseBlocks()} gives them all back, tail first.
 *
 * <p><b>Shared blocks are read-only.</b> {@link #write} refuses a block with more than one holder, so a cached
 * block can never be changed under its other readers. To continue a cached partial block differently, copy its
 * first tokens into a fresh block with {@link BlockPool#copyPrefix} and append that instead.
 *
 * <p><b>Attention</b> gives the same result as {@link DenseKvStore} for the same keys, values and query: it runs
 * the same three kernel steps, only per block: scores of each block into the scratch array at the block's
 * offset, one softmax over all of them, then each block's weighted values added to the output in position
 * order. See {@link #attend} for where the off-heap score kernel's rounding may still differ.
 *
 * <p>Not thread-safe for writes or table changes; {@link #attend} may run concurrently for different heads and
 * rows once the positions it reads are written (the KvStore contract).
 */
public final class PagedKvStore implements KvStore {
    /** Keys and values as the off-heap kernels read them: float32, little-endian. */
    private static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final BlockPool pool;
    private final KvBlockLayout blockLayout;
    private final KvLayout layout;
    /** {@code log2(blockSize)}: position to block index. */
    private final int blockShift;
    /** {@code blockSize - 1}: position to slot. */
    private final int slotMask;
    private final BlockTable table;

    /** An empty store (capacity 0) over {@code pool}; append blocks before writing. */
    public PagedKvStore(BlockPool pool) {
        this(pool, BlockTable.DEFAULT_INITIAL_CAPACITY);
    }

    /**
     * An empty store with room in its table for {@code expectedBlocks} before the table grows.
     */
    public PagedKvStore(BlockPool pool, int expectedBlocks) {
        this.pool = Objects.requireNonNull(pool, "pool");
        pool.checkOpen();
        this.blockLayout = pool.blockLayout();
        this.layout = blockLayout.layout();
        this.blockShift = Integer.numberOfTrailingZeros(blockLayout.blockSize());
        this.slotMask = blockLayout.blockSize() - 1;
        this.table = new BlockTable(expectedBlocks);
    }

    /** The pool whose blocks this store reads and writes. */
    public BlockPool pool() {
        return pool;
    }

    @Override
    public KvLayout layout() {
        return layout;
    }

    /** Positions the blocks hold: {@code blockCount() × blockSize}. */
    @Override
    public int capacity() {
        return table.size() << blockShift;
    }

    /** Blocks in the table. */
    public int blockCount() {
        return table.size();
    }

    /** The id of the {@code index}-th block: the one holding positions from {@code index × blockSize}. */
    public int blockId(int index) {
        return table.get(index);
    }

    /** A copy of the block ids in position order. */
    public int[] blocks() {
        return table.toArray();
    }

    /**
     * Appends a block, taking over one reference the caller holds (typically fresh from
     * {@link BlockPool#allocate()}); capacity grows by one block.
     *
     * @throws IllegalStateException if the block is free
     */
    public void appendBlock(int id) {
        if (pool.refCount(id) == 0) {
            throw new IllegalStateException("block " + id + " is free; allocate or retain it before appending");
        }
        table.add(id);
    }

    /**
     * Appends a block held elsewhere (a cached prefix block), adding a reference of the store's own. While the
     * block has other holders it is read-only here.
     *
     * @throws IllegalStateException if the block is free
     */
    public void appendShared(int id) {
        pool.retain(id);
        table.add(id);
    }

    /** Whether the {@code index}-th block has other holders than this store, and so may not be written. */
    public boolean isShared(int index) {
        return pool.refCount(table.get(index)) > 1;
    }

    /**
     * Releases the store's reference to every block, last block first, and empties the table (capacity 0).
     * Blocks that the prefix index retained stay cached; the others return to the pool's free queue.
     */
    public void releaseBlocks() {
        pool.releaseTailFirst(table.array(), 0, table.size());
        table.clear();
    }

    /**
     * {@inheritDoc}
     *
     * @throws IndexOutOfBoundsException if {@code position} is outside {@code [0, capacity())} or {@code layer}
     *                                   outside the layout
     * @throws IllegalStateException     if the position's block is shared (see {@link #isShared})
     */
    @Override
    public void write(int layer, int position, float[] key, int keyOffset, float[] value, int valueOffset) {
        if (position < 0 || position >= capacity()) {
            throw new IndexOutOfBoundsException("position " + position + " outside [0, " + capacity() + ")");
        }
        Objects.checkIndex(layer, layout.layers());
        int kvDim = layout.kvDim();
        Objects.checkFromIndexSize(keyOffset, kvDim, key.length);
        Objects.checkFromIndexSize(valueOffset, kvDim, value.length);
        int id = table.get(position >>> blockShift);
        int holders = pool.refCount(id);
        if (holders != 1) {
            throw new IllegalStateException("position " + position + " is in block " + id + ", shared by "
                    + holders + " holders; copy it to a fresh block (BlockPool.copyPrefix) before writing");
        }
        int slot = position & slotMask;
        int headSize = layout.headSize();
        MemorySegment memory = pool.memory();
        for (int h = 0; h < layout.kvHeads(); h++) {
            MemorySegment.copy(key, keyOffset + h * headSize, memory, F32_LE,
                    blockLayout.keyOffset(id, layer, h, slot), headSize);
            MemorySegment.copy(value, valueOffset + h * headSize, memory, F32_LE,
                    blockLayout.valueOffset(id, layer, h, slot), headSize);
        }
    }

    /**
     * {@inheritDoc}
     *
     * <p>Composes {@link Kernels#attentionScores(float[], int, MemorySegment, long, int, int, int, float[], int)},
     * {@link Kernels#softmax} and
     * {@link Kernels#attentionValues(float[], int, MemorySegment, long, int, int, int, float[], int)} exactly as
     * {@link Kernels#attention(float[], int, float[], float[], int, int, int, int, float[], float[], int)} does
     * for {@link DenseKvStore}, block by block. The softmax and the value sum round exactly as the dense store's;
     * the scores do too as long as {@code headSize} is below the CPU's float vector length. For longer heads the
     * off-heap dot product ({@code Kernels.dotF32}) adds in another order than the on-heap one
     * ({@code Kernels.dot}): a scalar head up to a 64-byte boundary, whose length depends on the key's address,
     * then four vector accumulators instead of two. Scores then agree to a few ulps, not bit for bit, until
     * the kernels' summation order depends on the element count alone.
     *
     * @throws IndexOutOfBoundsException if {@code length} exceeds {@link #capacity()} or {@code layer} or
     *                                   {@code head} is outside the layout
     */
    @Override
    public void attend(int layer, int head, int length, float[] query, int queryOffset, float[] out, int outOffset,
                       float[] scratch) {
        if (length < 0 || length > capacity()) {
            throw new IndexOutOfBoundsException("length " + length + " outside [0, " + capacity() + "]");
        }
        Objects.checkIndex(layer, layout.layers());
        Objects.checkIndex(head, layout.heads());
        int kvHead = head / layout.queriesPerKvHead();
        int headSize = layout.headSize();
        int stride = blockLayout.slotStride();
        int blockSize = slotMask + 1;
        MemorySegment memory = pool.memory();
        int[] ids = table.array();
        for (int b = 0, start = 0; start < length; b++, start += blockSize) {
            long keys = blockLayout.keyOffset(ids[b], layer, kvHead, 0) / Float.BYTES;
            Kernels.attentionScores(query, queryOffset, memory, keys, stride, headSize,
                    Math.min(blockSize, length - start), scratch, start);
        }
        Kernels.softmax(scratch, 0, length);
        Arrays.fill(out, outOffset, outOffset + headSize, 0f);
        for (int b = 0, start = 0; start < length; b++, start += blockSize) {
            long values = blockLayout.valueOffset(ids[b], layer, kvHead, 0) / Float.BYTES;
            Kernels.attentionValues(scratch, start, memory, values, stride, headSize,
                    Math.min(blockSize, length - start), out, outOffset);
        }
    }

    @Override
    public String toString() {
        return "PagedKvStore" + table + " (capacity " + capacity() + ")";
    }
}
