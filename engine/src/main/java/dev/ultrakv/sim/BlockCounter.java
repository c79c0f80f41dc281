package dev.ultrakv.sim;

import java.util.ArrayDeque;

/**
 * A stand-in for the block pool: hands out block ids from {@code 0} to {@code capacity - 1} and takes them back,
 * checking that none is freed twice. No memory behind them, as the simulator needs none.
 */
public final class BlockCounter {
    private final ArrayDeque<Integer> free = new ArrayDeque<>();
    private final boolean[] allocated;

    /** A pool of {@code capacity} free blocks. */
    public BlockCounter(int capacity) {
        if (capacity <= 0) {
            throw new IllegalArgumentException("capacity must be positive: " + capacity);
        }
        allocated = new boolean[capacity];
        for (int id = 0; id < capacity; id++) {
            free.add(id);
        }
    }

    /** Blocks in all. */
    public int capacity() {
        return allocated.length;
    }

    /** Blocks not handed out. */
    public int freeBlocks() {
        return free.size();
    }

    /**
     * Hands out one block.
     *
     * @throws IllegalStateException when none is free
     */
    public int allocate() {
        Integer id = free.pollFirst();
        if (id == null) {
            throw new IllegalStateException("no free block");
        }
        allocated[id] = true;
        return id;
    }

    /**
     * Takes a block back.
     *
     * @throws IllegalStateException if it is not handed out
     */
    public void free(int id) {
        if (id < 0 || id >= allocated.length || !allocated[id]) {
            throw new IllegalStateException("block " + id + " is not allocated");
        }
        allocated[id] = false;
        free.addLast(id);
    }
}
