package dev.ultrakv.kvcache;

import dev.ultrakv.kvcache.codec.KvCodecKind;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BlockPoolTest {
    /** Two layers, GQA (4 query heads on 2 KV heads), odd head size. */
    private static final KvLayout LAYOUT = new KvLayout(2, 4, 2, 5);

    private static BlockPool pool(int blocks) {
        return BlockPool.forTokens(LAYOUT, 4, 4L * blocks);
    }

    @Test
    void capacityNeverExceedsTheMemoryBudgetAndWastesLessThanOneBlock() {
        SplittableRandom random = new SplittableRandom(7);
        for (int i = 0; i < 50; i++) {
            int blockSize = 1 << random.nextInt(7);
            long blockBytes = KvBlockLayout.float32(LAYOUT, blockSize).blockBytes();
            long budget = blockBytes + random.nextLong(40 * blockBytes);
            try (BlockPool pool = BlockPool.forMemory(LAYOUT, blockSize, budget)) {
                assertTrue(pool.capacityBytes() <= budget, pool + " over a budget of " + budget);
                assertTrue(pool.capacityBytes() + pool.blockBytes() > budget, pool + " under-uses " + budget);
                assertEquals(pool.capacityBytes(), pool.memory().byteSize());
                assertEquals(0, pool.memory().address() % KvBlockLayout.ALIGNMENT_BYTES);
                while (pool.allocate() != BlockPool.NO_BLOCK) {
                    assertTrue(pool.usedBytes() <= pool.capacityBytes());
                }
                assertEquals(pool.capacityBytes(), pool.usedBytes());
            }
        }
    }

    @Test
    void tokenCapacityIsRoundedUpToWholeBlocks() {
        try (BlockPool pool = BlockPool.forTokens(LAYOUT, 16, 33)) {
            assertEquals(3, pool.totalBlocks());
            assertEquals(3 * pool.blockBytes(), pool.capacityBytes());
            assertEquals(16 * LAYOUT.float32BytesPerToken(), pool.blockBytes());
        }
    }

    @Test
    void allocatesUntilEmptyThenReturnsNoBlock() {
        try (BlockPool pool = pool(5)) {
            for (int i = 0; i < 5; i++) {
                assertEquals(i, pool.allocate(), "a new pool hands out blocks in id order");
                assertEquals(i + 1, pool.usedBlocks());
            }
            assertEquals(0, pool.freeBlocks());
            assertEquals(BlockPool.NO_BLOCK, pool.allocate());
            assertEquals(-1, pool.allocate());
            pool.checkInvariants();
        }
    }

    @Test
    void allocatingManyIsAllOrNothing() {
        try (BlockPool pool = pool(4)) {
            int[] ids = new int[8];
            assertFalse(pool.allocate(5, ids, 0));
            assertEquals(4, pool.freeBlocks(), "a failed bulk allocation takes nothing");
            assertTrue(pool.allocate(3, ids, 2));
            assertArrayEquals(new int[] {0, 0, 0, 1, 2, 0, 0, 0}, ids);
            assertEquals(1, pool.freeBlocks());
        }
    }

    @Test
    void freedBlocksAreReusedFirstInFirstOut() {
        try (BlockPool pool = pool(4)) {
            for (int i = 0; i < 4; i++) {
                pool.allocate();
            }
            pool.release(2);
            pool.release(0);
            pool.release(3);
            assertArrayEquals(new int[] {2, 0, 3}, pool.freeQueue());
            assertEquals(2, pool.allocate());
            assertEquals(0, pool.allocate());
            assertEquals(3, pool.allocate());
            pool.checkInvariants();
        }
    }

    @Test
    void aSequenceIsReleasedTailFirst() {
        try (BlockPool pool = pool(6)) {
            int[] chain = new int[4];
            assertTrue(pool.allocate(4, chain, 0));
            pool.releaseTailFirst(chain, 0, 4);
            assertArrayEquals(new int[] {4, 5, 3, 2, 1, 0}, pool.freeQueue(),
                    "the chain's end is reused before its beginning");
            pool.checkInvariants();
        }
    }

    @Test
    void aBlockIsFreedOnlyWhenItsLastHolderReleasesIt() {
        try (BlockPool pool = pool(2)) {
            int id = pool.allocate();
            pool.retain(id);
            pool.retain(id);
            assertEquals(3, pool.refCount(id));
            pool.release(id);
            pool.release(id);
            assertEquals(1, pool.refCount(id));
            assertEquals(1, pool.freeBlocks());
            pool.release(id);
            assertEquals(0, pool.refCount(id));
            assertEquals(2, pool.freeBlocks());
            pool.checkInvariants();
        }
    }

    @Test
    void retainingOrReleasingAFreeBlockFails() {
        try (BlockPool pool = pool(2)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.retain(1));
            assertTrue(e.getMessage().contains("block 1 is free"), e.getMessage());
            assertThrows(IllegalStateException.class, () -> pool.release(0));
            assertThrows(IndexOutOfBoundsException.class, () -> pool.release(2));
            assertThrows(IndexOutOfBoundsException.class, () -> pool.refCount(-1));
        }
    }

    @Test
    void aFreeBlockIsRevivedFromTheMiddleOfTheQueueUntilItIsReallocated() {
        try (BlockPool pool = pool(5)) {
            int[] ids = new int[5];
            pool.allocate(5, ids, 0);
            int generation = pool.generation(2);
            for (int id : ids) {
                pool.release(id);
            }
            assertTrue(pool.revive(2, generation));
            assertEquals(1, pool.refCount(2));
            assertArrayEquals(new int[] {0, 1, 3, 4}, pool.freeQueue());
            assertFalse(pool.revive(2, generation), "a block in use is not revived");
            pool.checkInvariants();

            pool.release(2);
            int stale = pool.generation(0);
            assertEquals(0, pool.allocate());
            pool.release(0);
            assertFalse(pool.revive(0, stale), "a block handed out since has lost the contents asked for");
            assertTrue(pool.revive(0, stale + 1));
            pool.checkInvariants();
        }
    }

    /**
     * Random allocate, retain, release, revive and tail-first release, against a model of the queue (a linked
     * list) and the counts: the pool's queue order and counts must match the model after every step.
     */
    @Test
    void randomOperationsKeepTheFreeQueueConsistent() {
        for (long seed = 1; seed <= 20; seed++) {
            SplittableRandom random = new SplittableRandom(seed);
            int blocks = 1 + random.nextInt(40);
            try (BlockPool pool = pool(blocks)) {
                LinkedList<Integer> queue = new LinkedList<>();
                for (int i = 0; i < blocks; i++) {
                    queue.add(i);
                }
                int[] counts = new int[blocks];
                int[] generations = new int[blocks];
                for (int step = 0; step < 2000; step++) {
                    int id = random.nextInt(blocks);
                    switch (random.nextInt(5)) {
                        case 0 -> {
                            int got = pool.allocate();
                            Integer expected = queue.pollFirst();
                            assertEquals(expected == null ? BlockPool.NO_BLOCK : expected, got);
                            if (got >= 0) {
                                counts[got] = 1;
                                generations[got]++;
                            }
                        }
                        case 1 -> {
                            if (counts[id] > 0) {
                                pool.retain(id);
                                counts[id]++;
                            } else {
                                assertThrows(IllegalStateException.class, () -> pool.retain(id));
                            }
                        }
                        case 2 -> {
                            if (counts[id] > 0) {
                                pool.release(id);
                                if (--counts[id] == 0) {
                                    queue.addLast(id);
                                }
                            }
                        }
                        case 3 -> {
                            int generation = generations[id] - random.nextInt(2);
                            boolean expected = counts[id] == 0 && generation == generations[id];
                            assertEquals(expected, pool.revive(id, generation));
                            if (expected) {
                                queue.remove((Integer) id);
                                counts[id] = 1;
                            }
                        }
                        default -> {
                            List<Integer> held = new ArrayList<>();
                            for (int b = 0; b < blocks; b++) {
                                if (counts[b] == 1) {
                                    held.add(b);
                                }
                            }
                            int[] chain = held.stream().mapToInt(Integer::intValue).toArray();
                            pool.releaseTailFirst(chain, 0, chain.length);
                            for (int i = chain.length - 1; i >= 0; i--) {
                                counts[chain[i]] = 0;
                                queue.addLast(chain[i]);
                            }
                        }
                    }
                    pool.checkInvariants();
                    assertArrayEquals(queue.stream().mapToInt(Integer::intValue).toArray(), pool.freeQueue(),
                            "seed " + seed + ", step " + step);
                    for (int b = 0; b < blocks; b++) {
                        assertEquals(counts[b], pool.refCount(b));
                        assertEquals(generations[b], pool.generation(b));
                    }
                }
            }
        }
    }

    @Test
    void aClosedPoolFailsClearly() {
        BlockPool pool = pool(3);
        int id = pool.allocate();
        PagedKvStore store = new PagedKvStore(pool);
        store.appendBlock(id);
        pool.close();
        pool.close();
        assertTrue(pool.isClosed());
        IllegalStateException e = assertThrows(IllegalStateException.class, pool::allocate);
        assertEquals("the block pool is closed", e.getMessage());
        assertThrows(IllegalStateException.class, () -> pool.release(id));
        assertThrows(IllegalStateException.class, () -> pool.retain(id));
        assertThrows(IllegalStateException.class, () -> pool.revive(1, 0));
        assertThrows(IllegalStateException.class, pool::freeBlocks);
        float[] kv = new float[LAYOUT.kvDim()];
        assertThrows(IllegalStateException.class, () -> store.write(0, 0, kv, 0, kv, 0));
        assertThrows(IllegalStateException.class,
                () -> store.attend(0, 0, 0, new float[5], 0, new float[5], 0, new float[1]));
        assertThrows(IllegalStateException.class, () -> new PagedKvStore(pool));
    }

    @Test
    void badArgumentsAreRejectedNamingTheValue() {
        for (int blockSize : new int[] {0, -16, 3, 24, Integer.MIN_VALUE}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> BlockPool.forTokens(LAYOUT, blockSize, 100));
            assertTrue(e.getMessage().contains("blockSize") && e.getMessage().contains(": " + blockSize),
                    e.getMessage());
            assertThrows(IllegalArgumentException.class, () -> BlockPool.forMemory(LAYOUT, blockSize, 1 << 20));
        }
        for (long tokens : new long[] {0, -5}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> BlockPool.forTokens(LAYOUT, 16, tokens));
            assertTrue(e.getMessage().contains("maxTokens must be positive: " + tokens), e.getMessage());
        }
        long blockBytes = KvBlockLayout.float32(LAYOUT, 16).blockBytes();
        for (long budget : new long[] {0, -1, blockBytes - 1}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> BlockPool.forMemory(LAYOUT, 16, budget));
            assertTrue(e.getMessage().contains("maxMemoryBytes " + budget), e.getMessage());
        }
        assertThrows(IllegalArgumentException.class,
                () -> BlockPool.forTokens(LAYOUT, 1, (long) BlockPool.MAX_BLOCKS + 1));
    }

    @Test
    void copyPrefixWritesOnlyABlockHeldByTheCallerAlone() {
        try (BlockPool pool = pool(3)) {
            int src = pool.allocate();
            int dst = pool.allocate();
            pool.retain(dst);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.copyPrefix(src, dst, 2));
            assertTrue(e.getMessage().contains("2 holders"), e.getMessage());
            pool.release(dst);
            assertThrows(IllegalArgumentException.class, () -> pool.copyPrefix(src, src, 2));
            assertThrows(IllegalArgumentException.class, () -> pool.copyPrefix(src, dst, 5));
            assertThrows(IllegalArgumentException.class, () -> pool.copyPrefix(src, dst, -1));
            assertThrows(IllegalStateException.class, () -> pool.copyPrefix(2, dst, 1), "the source is free");
            pool.copyPrefix(src, dst, 4);
            pool.copyPrefix(src, dst, 0);
        }
    }

    @Test
    void copyPrefixRefusesBlocksWithPerChannelKeys() {
        KvBlockLayout int4 = KvBlockLayout.of(new KvLayout(2, 4, 2, 8), 4, KvCodecKind.INT4);
        try (BlockPool pool = BlockPool.forTokens(int4, 12)) {
            int src = pool.allocate();
            int dst = pool.allocate();
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> pool.copyPrefix(src, dst, 2));
            assertTrue(e.getMessage().contains("per-channel"), e.getMessage());
        }
    }
}
