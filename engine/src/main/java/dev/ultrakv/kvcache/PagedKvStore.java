package dev.ultrakv.kvcache;

import dev.ultrakv.kvcache.codec.ChannelKeyCodec;
import dev.ultrakv.kvcache.codec.KvCodec;
import dev.ultrakv.tensor.Attention;
import dev.ultrakv.tensor.VectorOps;

import java.lang.foreign.MemorySegment;
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
 * <p><b>Attention</b> gives the same result as {@link DenseKvStore} for the same keys, values and query when the
 * blocks are float32: it runs the same three kernel steps, only per block: scores of each block into the scratch
 * array at the block's offset, one softmax over all of them, then each block's weighted values added to the
 * output in position order. See {@link #attend} for where the off-heap score kernel's rounding may still differ.
 *
 * <p><b>Lossy codecs</b> (float16, int8, int4, int2) encode each slot as it is written, and the store also keeps
 * the float32 keys and values of its newest entries in a {@link FullPrecisionWindow}: a query reads the blocks
 * before its own block through the codec, and its own block at full precision. Which values a query sees thus
 * depends only on its position, not on how the prompt was cut into passes or which blocks came from the cache.
 * The window costs one float32 block per sequence between passes.
 *
 * <p><b>Per-channel keys</b> (INT4, INT2: {@link KvBlockLayout#channelKeys()}) can only be encoded once their
 * block is complete: when the last slot of a block is written for a layer, its key runs are encoded from the
 * window, which holds the whole block (values are still encoded slot by slot). Attention reads only complete
 * blocks through the codecs, and a lossy cache shares only whole blocks, so an incomplete block's key codes are
 * never read.
 *
 * <p>Not thread-safe for writes or table changes; {@link #attend} may run concurrently for different heads and
 * rows once the positions it reads are written (the KvStore contract).
 */
public final class PagedKvStore implements KvStore {
    private final BlockPool pool;
    private final KvBlockLayout blockLayout;
    private final KvLayout layout;
    private final KvCodec codec;
    /** The keys' run codec when keys are per channel; null when they are slots of {@link #codec}. */
    private final ChannelKeyCodec channelKeys;
    /** Float32 copies of the newest entries; null for a lossless codec, whose blocks are exact. */
    private final FullPrecisionWindow window;
    /** {@code log2(blockSize)}: position to block index. */
    private final int blockShift;
    /** {@code blockSize - 1}: position to slot. */
    private final int slotMask;
    private final BlockTable table;
    /**
     * Positions whose entries compaction dropped: position {@code p} is entry {@code p - removed}. Entries are the
     * slots of the table in order; without compression they are the positions.
     */
    private int removed;
    /** One past the highest entry written. */
    private int entries;
    /** Told each query's attention weights; null when nobody asks. */
    private AttentionObserver observer;

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
        this.codec = blockLayout.codec();
        this.channelKeys = blockLayout.channelKeys();
        this.window = blockLayout.isLossless() ? null
                : new FullPrecisionWindow(layout.layers(), layout.kvDim(), blockLayout.blockSize());
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

    /**
     * Positions the store can hold: its blocks' slots ({@code blockCount() × blockSize}) plus the positions that
     * compaction dropped.
     */
    @Override
    public int capacity() {
        return (table.size() << blockShift) + removed;
    }

    /** Entries written: the positions written, less those compaction dropped. */
    public int entries() {
        return entries;
    }

    /** Positions written (the sequence's length so far), whether their entries are kept or not. */
    public int positions() {
        return entries + removed;
    }

    /**
     * Forgets what was written at {@code position} and after: a forward pass that failed wrote some layers of its
     * rows, and the rows are run again (positions are written in order, see {@link FullPrecisionWindow}).
     *
     * @throws IllegalArgumentException if {@code position} was compacted away
     */
    public void discardFrom(int position) {
        int entry = position - removed;
        if (entry < 0) {
            throw new IllegalArgumentException("position " + position + " was compacted (entries start at position "
                    + removed + ")");
        }
        if (entry < entries) {
            entries = entry;
        }
        if (window != null) {
            window.rewind(entry);
        }
    }

    /** Slots in the blocks: the entries the store can hold before it needs another block. */
    public int entryCapacity() {
        return table.size() << blockShift;
    }

    /** Reports every query's attention weights to {@code observer} (null: to nobody). */
    public void observeAttention(AttentionObserver observer) {
        this.observer = observer;
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
     * Releases the store's reference to every block it still holds, last block first, and empties the table
     * (capacity 0). Blocks that the prefix index retained stay cached; the others return to the pool's free queue.
     */
    public void releaseBlocks() {
        int[] ids = table.array();
        for (int i = table.size() - 1; i >= 0; i--) {
            if (ids[i] != BlockTable.NO_BLOCK) {
                pool.release(ids[i]);
            }
        }
        table.clear();
    }

    /**
     * Gives away the {@code index}-th block, which no later query reads (a sliding window has passed it), with
     * the store's reference to it: its entry becomes {@link BlockTable#NO_BLOCK} and positions keep their
     * blocks. Reading or writing a position of it afterwards fails.
     *
     * @return the block's id, whose reference the caller now holds
     * @throws IllegalStateException if the block was given away already, or the store was compacted
     */
    public int handOver(int index) {
        if (removed > 0) {
            throw new IllegalStateException("a compacted store keeps its own selection of entries");
        }
        int id = table.get(index);
        if (id == BlockTable.NO_BLOCK) {
            throw new IllegalStateException("block " + index + " of the table was given away already");
        }
        return table.drop(index);
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
        if (position < removed || position >= capacity()) {
            throw new IndexOutOfBoundsException("position " + position + " outside [" + removed + ", " + capacity()
                    + ")" + (removed > 0 ? "; positions before " + removed + " were compacted" : ""));
        }
        int entry = position - removed;
        Objects.checkIndex(layer, layout.layers());
        int kvDim = layout.kvDim();
        Objects.checkFromIndexSize(keyOffset, kvDim, key.length);
        Objects.checkFromIndexSize(valueOffset, kvDim, value.length);
        int id = table.get(entry >>> blockShift);
        if (id == BlockTable.NO_BLOCK) {
            throw new IllegalStateException("position " + position + " is in a block given away (handOver)");
        }
        int holders = pool.refCount(id);
        if (holders != 1) {
            throw new IllegalStateException("position " + position + " is in block " + id + ", shared by "
                    + holders + " holders; copy it to a fresh block (BlockPool.copyPrefix) before writing");
        }
        int slot = entry & slotMask;
        int headSize = layout.headSize();
        MemorySegment memory = pool.memory();
        for (int h = 0; h < layout.kvHeads(); h++) {
            if (channelKeys == null) {
                encode(key, keyOffset + h * headSize, memory, blockLayout.keyOffset(id, layer, h, slot), "key",
                        layer, position, h);
            }
            encode(value, valueOffset + h * headSize, memory, blockLayout.valueOffset(id, layer, h, slot), "value",
                    layer, position, h);
        }
        if (window != null) {
            window.write(layer, entry, key, keyOffset, value, valueOffset);
        }
        if (channelKeys != null && slot == slotMask) {
            encodeKeyRuns(layer, entry - slotMask, id, window.keys(layer), window.offset(layer, entry - slotMask),
                    position - slotMask);
        }
        entries = Math.max(entries, entry + 1);
    }

    /**
     * Encodes the key runs of {@code layer} in block {@code id}, whose entries from {@code firstEntry} are at
     * {@code keys[from + t × kvDim + h × headSize]}; {@code firstPosition} names the block in errors.
     */
    private void encodeKeyRuns(int layer, int firstEntry, int id, float[] keys, int from, int firstPosition) {
        int headSize = layout.headSize();
        MemorySegment memory = pool.memory();
        for (int h = 0; h < layout.kvHeads(); h++) {
            try {
                channelKeys.encode(keys, from + h * headSize, layout.kvDim(), headSize, slotMask + 1, memory,
                        blockLayout.keyRunOffset(id, layer, h));
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("cannot store the keys of layer " + layer + ", positions "
                        + firstPosition + ".." + (firstPosition + slotMask) + " (entries from " + firstEntry
                        + "), KV head " + h + " as " + channelKeys.kind() + ": " + e.getMessage(), e);
            }
        }
    }

    /** Encodes one slot, naming the layer, position and head when the codec refuses a value. */
    private void encode(float[] src, int srcOffset, MemorySegment memory, long byteOffset, String what, int layer,
                        int position, int kvHead) {
        try {
            codec.encode(src, srcOffset, layout.headSize(), memory, byteOffset);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("cannot store the " + what + " of layer " + layer + ", position "
                    + position + ", KV head " + kvHead + " as " + codec.kind() + ": " + e.getMessage(), e);
        }
    }

    /** Whether blocks store keys and values exactly (float32), so no full-precision window is kept. */
    public boolean isLossless() {
        return window == null;
    }

    /** Heap bytes of the full-precision window (0 for a lossless codec). */
    public long windowBytes() {
        return window == null ? 0 : window.bytes();
    }

    /**
     * {@inheritDoc}
     *
     * <p>Over float32 blocks, composes
     * {@link Attention#attentionScores(float[], int, MemorySegment, long, int, int, int, float[], int)},
     * {@link Attention#softmax} and
     * {@link Attention#attentionValues(float[], int, MemorySegment, long, int, int, int, float[], int)} exactly as
     * {@link Attention#attention(float[], int, float[], float[], int, int, int, int, float[], float[], int)} does
     * for {@link DenseKvStore}, block by block. Both dot products (on heap and off heap) sum in the kernels'
     * canonical order, which depends on the element count alone, so the result is the dense store's bit for bit.
     *
     * <p>Over lossy blocks, the blocks before the query's own block are read through the codec (dequantized in
     * registers) and the own block from the full-precision window.
     *
     * @throws IndexOutOfBoundsException if {@code position} is outside {@code [0, capacity())} or {@code layer} or
     *                                   {@code head} is outside the layout
     */
    @Override
    public void attend(int layer, int head, int position, int attentionWindow, float softCap, float[] query,
                       int queryOffset, float[] out, int outOffset, float[] scratch) {
        if (position < removed || position >= capacity()) {
            throw new IndexOutOfBoundsException("position " + position + " outside [" + removed + ", " + capacity()
                    + ")");
        }
        if (attentionWindow < 1) {
            throw new IllegalArgumentException("attention window " + attentionWindow + " must be at least 1");
        }
        Objects.checkIndex(layer, layout.layers());
        Objects.checkIndex(head, layout.heads());
        int length = position - removed + 1;
        int kvHead = head / layout.queriesPerKvHead();
        int headSize = layout.headSize();
        int blockSize = slotMask + 1;
        // Entries [0, encoded) are read from the blocks; the rest, the query's own block, from the window.
        int encoded = window == null ? length : (length - 1) & -blockSize;
        // Entries before `first` are outside the attention window: blocks wholly before it are skipped, and the
        // block it falls in is scored whole and its early entries weighted 0 after the softmax over [first, length).
        int first = Math.max(0, length - attentionWindow);
        int firstBlock = first / blockSize;
        MemorySegment memory = pool.memory();
        int[] ids = table.array();
        for (int b = firstBlock, start = firstBlock * blockSize; start < encoded; b++, start += blockSize) {
            if (ids[b] == BlockTable.NO_BLOCK) {
                throw new IllegalStateException("position " + position + " attends to block " + b
                        + ", which was given away (handOver)");
            }
            long keys = blockLayout.keyRunOffset(ids[b], layer, kvHead);
            int count = Math.min(blockSize, encoded - start);
            if (channelKeys == null) {
                codec.attentionScores(query, queryOffset, headSize, memory, keys, count, scratch, start);
            } else {
                channelKeys.attentionScores(query, queryOffset, headSize, memory, keys, blockSize, count, scratch,
                        start);
            }
        }
        int windowOffset = 0;
        if (window != null) {
            windowOffset = window.offset(layer, encoded) + kvHead * headSize;
            Attention.attentionScores(query, queryOffset, window.keys(layer), windowOffset, layout.kvDim(), headSize,
                    length - encoded, scratch, encoded);
        }
        if (softCap != NO_SOFT_CAP) {
            VectorOps.softCap(scratch, first, length - first, softCap);
        }
        Attention.softmax(scratch, first, length - first);
        Arrays.fill(scratch, 0, first, 0f);
        AttentionObserver told = observer;
        if (told != null) {
            told.observe(layer, head, length - 1, scratch, length);
        }
        Arrays.fill(out, outOffset, outOffset + headSize, 0f);
        for (int b = firstBlock, start = firstBlock * blockSize; start < encoded; b++, start += blockSize) {
            codec.attentionValues(scratch, start, memory, blockLayout.valueOffset(ids[b], layer, kvHead, 0),
                    Math.min(blockSize, encoded - start), headSize, out, outOffset);
        }
        if (window != null) {
            Attention.attentionValues(scratch, encoded, window.values(layer), windowOffset, layout.kvDim(), headSize,
                    length - encoded, out, outOffset);
            window.markRead(layer);
        }
    }

    /**
     * Keeps only the entries {@code kept[layer][kvHead]} (ascending, {@code keep} of each) by copying their slots,
     * in order, into {@code freshBlocks}, which become the store's table; the positions written so far then map
     * to the {@code keep} entries and the next position to entry {@code keep}. Slots are self-contained (scales
     * per slot), so they are copied byte for byte: compaction adds no error of its own. Per-channel keys are not:
     * the kept keys are decoded (from their runs, or from the window for the incomplete last block) and every
     * complete destination block is encoded again, a second rounding of those keys. The full-precision window
     * restarts at the block of entry {@code keep}, holding the decoded kept entries of that block.
     *
     * @param freshBlocks blocks held by the caller alone, taken over by the store; at least
     *                    {@code ceil((keep + 1) / blockSize)} of them, so the next position fits
     * @return the old table, whose references the caller now holds (to cache or release)
     * @throws IllegalArgumentException if the selection or the blocks do not fit
     */
    public int[] compact(int[][][] kept, int keep, int[] freshBlocks) {
        if (keep <= 0 || keep > entries) {
            throw new IllegalArgumentException("keep " + keep + " outside [1, " + entries + "]");
        }
        if ((long) freshBlocks.length << blockShift <= keep) {
            throw new IllegalArgumentException(freshBlocks.length + " blocks cannot hold " + keep
                    + " entries and the next one");
        }
        if (kept.length != layout.layers()) {
            throw new IllegalArgumentException("a selection for " + kept.length + " layers; the layout has "
                    + layout.layers());
        }
        for (int id : freshBlocks) {
            if (pool.refCount(id) != 1) {
                throw new IllegalArgumentException("block " + id + " has " + pool.refCount(id)
                        + " holders; compaction writes only blocks held by the store alone");
            }
        }
        MemorySegment memory = pool.memory();
        int[] old = table.toArray();
        for (int id : old) {
            if (id == BlockTable.NO_BLOCK) {
                throw new IllegalStateException("a store that gave blocks away cannot be compacted");
            }
        }
        long slotBytes = blockLayout.slotBytes();
        int headSize = layout.headSize();
        int blockSize = slotMask + 1;
        // Per-channel keys: (layer, entry - start, kvDim) keys of the incomplete block the window restarts at.
        float[][] tailKeys = channelKeys == null ? null
                : new float[layout.layers()][(keep & slotMask) * layout.kvDim()];
        float[] gathered = channelKeys == null ? null : new float[blockSize * headSize];
        float[] decoded = channelKeys == null ? null : new float[blockSize * headSize];
        for (int layer = 0; layer < layout.layers(); layer++) {
            if (kept[layer].length != layout.kvHeads()) {
                throw new IllegalArgumentException("layer " + layer + " has a selection for " + kept[layer].length
                        + " KV heads; the layout has " + layout.kvHeads());
            }
            for (int h = 0; h < layout.kvHeads(); h++) {
                int[] entriesKept = kept[layer][h];
                if (entriesKept.length != keep) {
                    throw new IllegalArgumentException("layer " + layer + ", KV head " + h + " keeps "
                            + entriesKept.length + " entries, not " + keep);
                }
                for (int i = 0; i < keep; i++) {
                    int from = entriesKept[i];
                    if (from < 0 || from >= entries || (i > 0 && from <= entriesKept[i - 1])) {
                        throw new IllegalArgumentException("layer " + layer + ", KV head " + h + ": kept entry "
                                + from + " is out of range [0, " + entries + ") or not ascending");
                    }
                    int src = old[from >>> blockShift];
                    int dst = freshBlocks[i >>> blockShift];
                    if (channelKeys == null) {
                        MemorySegment.copy(memory, blockLayout.keyOffset(src, layer, h, from & slotMask), memory,
                                blockLayout.keyOffset(dst, layer, h, i & slotMask), slotBytes);
                    }
                    MemorySegment.copy(memory, blockLayout.valueOffset(src, layer, h, from & slotMask), memory,
                            blockLayout.valueOffset(dst, layer, h, i & slotMask), slotBytes);
                }
                if (channelKeys != null) {
                    compactKeys(layer, h, entriesKept, keep, old, freshBlocks, tailKeys[layer], gathered, decoded);
                }
            }
        }
        table.clear();
        for (int id : freshBlocks) {
            table.add(id);
        }
        removed += entries - keep;
        entries = keep;
        if (window != null) {
            refillWindow(keep, tailKeys);
        }
        return old;
    }

    /**
     * Moves the per-channel keys of {@code layer}, KV head {@code h}: decodes each kept entry's key (from its
     * source run, or from the window when its block is the incomplete last one, never encoded), encodes every
     * complete destination block's run, and leaves the keys of the incomplete destination block in
     * {@code tail} (entry {@code e} at {@code (e - start) × kvDim + h × headSize}) for the window.
     */
    private void compactKeys(int layer, int h, int[] entriesKept, int keep, int[] old, int[] freshBlocks,
                             float[] tail, float[] gathered, float[] decoded) {
        int headSize = layout.headSize();
        int kvDim = layout.kvDim();
        int blockSize = slotMask + 1;
        int encodedEntries = entries & -blockSize;
        int tailStart = keep & -blockSize;
        MemorySegment memory = pool.memory();
        int decodedBlock = -1;
        for (int i = 0; i < keep; i++) {
            int from = entriesKept[i];
            float[] source;
            int at;
            if (from < encodedEntries) {
                if (from >>> blockShift != decodedBlock) {
                    decodedBlock = from >>> blockShift;
                    channelKeys.decode(memory, blockLayout.keyRunOffset(old[decodedBlock], layer, h), headSize,
                            blockSize, decoded, 0, headSize);
                }
                source = decoded;
                at = (from & slotMask) * headSize;
            } else {
                source = window.keys(layer);
                at = window.offset(layer, from) + h * headSize;
            }
            if (i >= tailStart) {
                System.arraycopy(source, at, tail, (i - tailStart) * kvDim + h * headSize, headSize);
                continue;
            }
            System.arraycopy(source, at, gathered, (i & slotMask) * headSize, headSize);
            if ((i & slotMask) == slotMask) {
                channelKeys.encode(gathered, 0, headSize, headSize, blockSize, memory,
                        blockLayout.keyRunOffset(freshBlocks[i >>> blockShift], layer, h));
            }
        }
    }

    /**
     * Restarts the window at the block of entry {@code next}, holding the decoded entries of it before it; with
     * per-channel keys, the keys are {@code tailKeys[layer]} (see {@link #compactKeys}).
     */
    private void refillWindow(int next, float[][] tailKeys) {
        int start = next & -(slotMask + 1);
        window.reset(start);
        int headSize = layout.headSize();
        float[] key = new float[layout.kvDim()];
        float[] value = new float[layout.kvDim()];
        MemorySegment memory = pool.memory();
        for (int entry = start; entry < next; entry++) {
            int id = table.get(entry >>> blockShift);
            for (int layer = 0; layer < layout.layers(); layer++) {
                for (int h = 0; h < layout.kvHeads(); h++) {
                    if (tailKeys == null) {
                        codec.decode(memory, blockLayout.keyOffset(id, layer, h, entry & slotMask), headSize, key,
                                h * headSize);
                    } else {
                        System.arraycopy(tailKeys[layer], (entry - start) * layout.kvDim() + h * headSize, key,
                                h * headSize, headSize);
                    }
                    codec.decode(memory, blockLayout.valueOffset(id, layer, h, entry & slotMask), headSize, value,
                            h * headSize);
                }
                window.write(layer, entry, key, 0, value, 0);
            }
        }
    }

    @Override
    public String toString() {
        return "PagedKvStore" + table + " (capacity " + capacity() + ")";
    }
}
