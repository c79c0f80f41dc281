package dev.ultrakv.kvcache;

import java.util.Arrays;
import java.util.Objects;

/**
 * The block ids of one sequence in position order: position {@code p} lives in block {@code get(p / blockSize)}.
 * A growable int array that grows by doubling, so appending costs an allocation only once per doubling, never per
 * token. Holds ids only; references are counted by whoever owns the table (see {@link PagedKvStore}).
 */
public final class BlockTable {
    /** The id in place of a block the table's owner gave away (a sliding window passed it). */
    public static final int NO_BLOCK = -1;
    /** Blocks the table holds before it first grows: 256 positions at the default block size. */
    public static final int DEFAULT_INITIAL_CAPACITY = 16;

    private int[] ids;
    private int size;

    /** An empty table with room for {@link #DEFAULT_INITIAL_CAPACITY} blocks. */
    public BlockTable() {
        this(DEFAULT_INITIAL_CAPACITY);
    }

    /**
     * An empty table with room for {@code initialCapacity} blocks before it grows.
     *
     * @throws IllegalArgumentException if {@code initialCapacity} is negative
     */
    public BlockTable(int initialCapacity) {
        if (initialCapacity < 0) {
            throw new IllegalArgumentException("initialCapacity must not be negative: " + initialCapacity);
        }
        ids = new int[initialCapacity];
    }

    /** Blocks in the table. */
    public int size() {
        return size;
    }

    /** Whether the table holds no block. */
    public boolean isEmpty() {
        return size == 0;
    }

    /** The id of the {@code index}-th block. */
    public int get(int index) {
        Objects.checkIndex(index, size);
        return ids[index];
    }

    /** Appends a block id. */
    public void add(int id) {
        if (size == ids.length) {
            ids = Arrays.copyOf(ids, Math.max(1, Math.multiplyExact(ids.length, 2)));
        }
        ids[size++] = id;
    }

    /**
     * Replaces the {@code index}-th id by {@link #NO_BLOCK} and returns it; the table keeps its size, so the
     * positions of later blocks stay where they were.
     */
    public int drop(int index) {
        Objects.checkIndex(index, size);
        int id = ids[index];
        ids[index] = NO_BLOCK;
        return id;
    }

    /** Removes and returns the last block id. */
    public int removeLast() {
        if (size == 0) {
            throw new IllegalStateException("the block table is empty");
        }
        return ids[--size];
    }

    /** Forgets every block id, keeping the room. */
    public void clear() {
        size = 0;
    }

    /** A copy of the ids, in order. */
    public int[] toArray() {
        return Arrays.copyOf(ids, size);
    }

    /** The backing array: its first {@link #size()} entries are the ids. Valid until the next {@link #add}. */
    int[] array() {
        return ids;
    }

    @Override
    public String toString() {
        return Arrays.toString(toArray());
    }
}
