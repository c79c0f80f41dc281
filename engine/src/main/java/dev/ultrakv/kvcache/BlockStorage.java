package dev.ultrakv.kvcache;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Objects;

/**
 * The bytes of a fixed number of KV blocks: one off-heap, 64-byte aligned allocation laid out by a
 * {@link KvBlockLayout}, block {@code id} at {@code [id × blockBytes, (id + 1) × blockBytes)}. It knows nothing of
 * who holds a block ({@link BlockAllocator} does); it copies bytes within itself (copy-on-write of a partial
 * block) and to and from a tier's record payload (a whole block, in its codec's bytes).
 *
 * <p>The memory lives in a shared arena so that attention running on every core may read blocks; writes come
 * from the step loop alone. A device buffer would be another storage beside this one.
 */
final class BlockStorage implements AutoCloseable {
    private final KvBlockLayout blockLayout;
    private final int totalBlocks;
    private final Arena arena;
    private final MemorySegment memory;

    /** Allocates {@code blocks} blocks of {@code blockLayout}, which the caller has checked fit in memory. */
    BlockStorage(KvBlockLayout blockLayout, int blocks) {
        this.blockLayout = blockLayout;
        this.totalBlocks = blocks;
        this.arena = Arena.ofShared();
        this.memory = arena.allocate(Math.multiplyExact((long) blocks, blockLayout.blockBytes()),
                KvBlockLayout.ALIGNMENT_BYTES);
    }

    /** The memory of all blocks, laid out by the block layout. */
    MemorySegment memory() {
        return memory;
    }

    /** Copies the first {@code tokens} positions of every layer's keys and values from block {@code src} to
     * {@code dst}. */
    void copyPrefix(int src, int dst, int tokens) {
        long bytes = tokens * blockLayout.slotBytes();
        KvLayout layout = blockLayout.layout();
        for (int layer = 0; layer < layout.layers(); layer++) {
            for (int h = 0; h < layout.kvHeads(); h++) {
                MemorySegment.copy(memory, blockLayout.keyOffset(src, layer, h, 0),
                        memory, blockLayout.keyOffset(dst, layer, h, 0), bytes);
                MemorySegment.copy(memory, blockLayout.valueOffset(src, layer, h, 0),
                        memory, blockLayout.valueOffset(dst, layer, h, 0), bytes);
            }
        }
    }

    /** Block {@code id}'s bytes, viewed in place: what a tier record's payload carries. */
    MemorySegment block(int id) {
        Objects.checkIndex(id, totalBlocks);
        return memory.asSlice(id * blockLayout.blockBytes(), blockLayout.blockBytes());
    }

    /**
     * Overwrites block {@code id} with {@code payload}, a whole block's bytes as {@link #block} gave them.
     *
     * @throws IllegalArgumentException if the payload is not exactly one block
     */
    void copyIn(int id, MemorySegment payload) {
        if (payload.byteSize() != blockLayout.blockBytes()) {
            throw new IllegalArgumentException("a payload of " + payload.byteSize() + " bytes for a block of "
                    + blockLayout.blockBytes());
        }
        MemorySegment.copy(payload, ValueLayout.JAVA_BYTE, 0, block(id), ValueLayout.JAVA_BYTE, 0,
                payload.byteSize());
    }

    /** Frees the memory; later use throws. */
    @Override
    public void close() {
        arena.close();
    }
}
