package dev.ultrakv.kvcache;

import java.util.Objects;

/**
 * The bookkeeping of a fixed number of KV blocks, without their bytes: which ids are free, how many holders each
 * block in use has, and how many times each has been handed out. {@link BlockPool} pairs it with a
 * {@link BlockStorage}; a device buffer would pair it with another storage and the same allocator.
 *
 * <p>The free queue is vLLM v1's: a doubly linked list threaded through two int arrays ({@code next},
 * {@code prev}) with sentinel head and tail nodes, so allocation from the head, freeing to the tail and removal
 * from the middle are all O(1) with no branches for empty ends and no objects per block. Initially the queue holds
 * the blocks in id order. The contract of each method is {@link BlockPool}'s, which delegates to it.
 *
 * <p>Not thread-safe: the engine's step loop owns it.
 */
final class BlockAllocator {
    /** {@code next}/{@code prev} of a block that is not in the free queue, to catch broken links early. */
    private static final int UNLINKED = -1;

    private final int totalBlocks;
    /** (block): holders; 0 exactly when the block is in the free queue. */
    private final int[] refCounts;
    /** (block): how many times the block has been allocated, to tell its tenancies apart. */
    private final int[] generations;
    /** (node): the next node of the free queue; nodes are blocks, then {@link #head}, then {@link #tail}. */
    private final int[] next;
    /** (node): the previous node of the free queue. */
    private final int[] prev;
    /** Sentinel node before the first free block. */
    private final int head;
    /** Sentinel node after the last free block. */
    private final int tail;
    private int freeCount;

    /** {@code totalBlocks} free blocks, queued in id order. */
    BlockAllocator(int totalBlocks) {
        this.totalBlocks = totalBlocks;
        this.refCounts = new int[totalBlocks];
        this.generations = new int[totalBlocks];
        this.next = new int[totalBlocks + 2];
        this.prev = new int[totalBlocks + 2];
        this.head = totalBlocks;
        this.tail = totalBlocks + 1;
        next[head] = tail;
        prev[tail] = head;
        for (int id = 0; id < totalBlocks; id++) {
            linkBeforeTail(id);
        }
        this.freeCount = totalBlocks;
    }

    int totalBlocks() {
        return totalBlocks;
    }

    int freeBlocks() {
        return freeCount;
    }

    /** The head of the free queue with one reference, or {@link BlockPool#NO_BLOCK}. */
    int allocate() {
        int id = next[head];
        if (id == tail) {
            return BlockPool.NO_BLOCK;
        }
        unlink(id);
        refCounts[id] = 1;
        generations[id]++;
        return id;
    }

    void retain(int id) {
        checkInUse(id);
        refCounts[id]++;
    }

    void release(int id) {
        checkInUse(id);
        if (--refCounts[id] == 0) {
            linkBeforeTail(id);
            freeCount++;
        }
    }

    boolean revive(int id, int generation) {
        Objects.checkIndex(id, totalBlocks);
        if (refCounts[id] != 0 || generations[id] != generation) {
            return false;
        }
        unlink(id);
        refCounts[id] = 1;
        return true;
    }

    int generation(int id) {
        Objects.checkIndex(id, totalBlocks);
        return generations[id];
    }

    int refCount(int id) {
        Objects.checkIndex(id, totalBlocks);
        return refCounts[id];
    }

    /** @throws IllegalStateException if {@code id} is free */
    void checkInUse(int id) {
        Objects.checkIndex(id, totalBlocks);
        if (refCounts[id] == 0) {
            throw new IllegalStateException("block " + id + " is free");
        }
    }

    private void linkBeforeTail(int id) {
        int last = prev[tail];
        next[last] = id;
        prev[id] = last;
        next[id] = tail;
        prev[tail] = id;
    }

    private void unlink(int id) {
        int before = prev[id];
        int after = next[id];
        next[before] = after;
        prev[after] = before;
        next[id] = UNLINKED;
        prev[id] = UNLINKED;
        freeCount--;
    }

    /** The free queue from head to tail (for tests and debugging; allocates). */
    int[] freeQueue() {
        int[] ids = new int[freeCount];
        int i = 0;
        for (int id = next[head]; id != tail; id = next[id]) {
            ids[i++] = id;
        }
        return ids;
    }

    /**
     * Re-checks the invariants: the queue is linked both ways between its sentinels, holds each free block exactly
     * once and no block in use, and {@link #freeBlocks()} counts it.
     *
     * @throws IllegalStateException naming the first broken invariant
     */
    void checkInvariants() {
        boolean[] seen = new boolean[totalBlocks];
        int count = 0;
        int before = head;
        for (int id = next[head]; id != tail; id = next[id]) {
            if (id < 0 || id >= totalBlocks) {
                throw new IllegalStateException("free queue links to node " + id + " after " + before);
            }
            if (seen[id]) {
                throw new IllegalStateException("block " + id + " is in the free queue twice");
            }
            seen[id] = true;
            if (prev[id] != before) {
                throw new IllegalStateException("block " + id + " links back to " + prev[id] + ", not " + before);
            }
            if (refCounts[id] != 0) {
                throw new IllegalStateException("block " + id + " is queued with " + refCounts[id] + " holders");
            }
            before = id;
            count++;
        }
        if (prev[tail] != before) {
            throw new IllegalStateException("tail links back to " + prev[tail] + ", not " + before);
        }
        if (count != freeCount) {
            throw new IllegalStateException(count + " blocks queued but freeBlocks() is " + freeCount);
        }
        for (int id = 0; id < totalBlocks; id++) {
            if (refCounts[id] < 0 || (refCounts[id] == 0) != seen[id]) {
                throw new IllegalStateException("block " + id + " has " + refCounts[id] + " holders and is "
                        + (seen[id] ? "" : "not ") + "queued");
            }
        }
    }
}
