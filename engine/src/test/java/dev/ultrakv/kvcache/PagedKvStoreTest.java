package dev.ultrakv.kvcache;

import dev.ultrakv.kvcache.codec.KvCodecKind;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class PagedKvStoreTest {
    /**
     * Floats per vector of the kernels. Heads shorter than this are summed in index order by both the on-heap
     * and the off-heap dot product, so paged scores are bit-identical to dense ones (see PagedKvStore#attend).
     */
    static final int LANES = FloatVector.SPECIES_PREFERRED.length();

    /** Keys and values of a sequence: (layer, position, kvDim) each. */
    record Sequence(float[][][] keys, float[][][] values) {
        static Sequence random(SplittableRandom random, KvLayout layout, int positions) {
            float[][][] k = new float[layout.layers()][positions][layout.kvDim()];
            float[][][] v = new float[layout.layers()][positions][layout.kvDim()];
            for (int l = 0; l < layout.layers(); l++) {
                for (int p = 0; p < positions; p++) {
                    fill(random, k[l][p]);
                    fill(random, v[l][p]);
                }
            }
            return new Sequence(k, v);
        }

        /** Writes positions {@code [from, to)} of every layer. */
        void writeTo(KvStore store, int from, int to) {
            for (int l = 0; l < keys.length; l++) {
                for (int p = from; p < to; p++) {
                    store.write(l, p, keys[l][p], 0, values[l][p], 0);
                }
            }
        }
    }

    static void fill(SplittableRandom random, float[] a) {
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (random.nextDouble() * 2 - 1);
        }
    }

    static KvLayout randomLayout(SplittableRandom random) {
        int kvHeads = 1 + random.nextInt(3);
        int[] headSizes = {1, 3, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 64, 65, 80};
        return new KvLayout(1 + random.nextInt(3), kvHeads * (1 + random.nextInt(3)), kvHeads,
                headSizes[random.nextInt(headSizes.length)]);
    }

    /** A store over {@code blocks} blocks taken from the pool in a scrambled order, so they are not adjacent. */
    static PagedKvStore scattered(BlockPool pool, int blocks, SplittableRandom random) {
        int[] ids = new int[pool.freeBlocks()];
        assertTrue(pool.allocate(ids.length, ids, 0));
        for (int i = ids.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = ids[i];
            ids[i] = ids[j];
            ids[j] = t;
        }
        PagedKvStore store = new PagedKvStore(pool, 1);
        for (int i = 0; i < ids.length; i++) {
            if (i < blocks) {
                store.appendBlock(ids[i]);
            } else {
                pool.release(ids[i]);
            }
        }
        return store;
    }

    /** The attention output of one head, after which {@code scratch[0, length)} holds its weights. */
    static float[] attend(KvStore store, int layer, int head, int length, float[] query, float[] scratch) {
        int headSize = store.layout().headSize();
        float[] out = new float[headSize + 2];
        out[0] = Float.NaN;
        out[headSize + 1] = Float.NaN;
        store.attend(layer, head, length - 1, query, 1, out, 1, scratch);
        return out;
    }

    /** Bit for bit: on heap and off heap, the kernels sum in one canonical order, whatever the head size. */
    static void assertMatchesDense(float[] dense, float[] paged, int headSize, String message) {
        assertArrayEquals(dense, paged, message + " (head size " + headSize + ")");
    }

    /**
     * Paged and dense stores of the same keys and values for random layouts (odd head sizes, GQA), block sizes
     * and lengths, with blocks scattered over the pool, attend alike: bit for bit, whatever the head size (see
     * PagedKvStore#attend).
     */
    @Test
    void attendMatchesTheDenseStore() {
        for (long seed = 1; seed <= 40; seed++) {
            SplittableRandom random = new SplittableRandom(seed);
            KvLayout layout = randomLayout(random);
            int blockSize = 1 << random.nextInt(6);
            int length = 1 + random.nextInt(150);
            try (BlockPool pool = BlockPool.forTokens(layout, blockSize, length + 3L * blockSize)) {
                int blocks = (length + blockSize - 1) / blockSize;
                PagedKvStore paged = scattered(pool, blocks, random);
                DenseKvStore dense = new DenseKvStore(layout, length);
                Sequence sequence = Sequence.random(random, layout, length);
                sequence.writeTo(paged, 0, length);
                sequence.writeTo(dense, 0, length);
                float[] query = new float[layout.headSize() + 1];
                for (int layer = 0; layer < layout.layers(); layer++) {
                    for (int head = 0; head < layout.heads(); head++) {
                        fill(random, query);
                        for (int n : new int[] {1, 1 + random.nextInt(length), length}) {
                            float[] denseWeights = new float[length];
                            float[] pagedWeights = new float[length];
                            String where = "seed " + seed + ", " + layout + ", blockSize " + blockSize + ", layer "
                                    + layer + ", head " + head + ", length " + n;
                            assertMatchesDense(attend(dense, layer, head, n, query, denseWeights),
                                    attend(paged, layer, head, n, query, pagedWeights), layout.headSize(), where);
                            assertMatchesDense(denseWeights, pagedWeights, layout.headSize(), where);
                        }
                    }
                }
            }
        }
    }

    /**
     * With one-hot queries every score is a single product, exact in any summation order, so the rest of the
     * paged attention (softmax over all blocks, the block-by-block value sum) must round exactly as the dense
     * store's for every head size.
     */
    @Test
    void attendIsBitIdenticalToDenseWhenScoresAreExact() {
        for (long seed = 1; seed <= 20; seed++) {
            SplittableRandom random = new SplittableRandom(seed);
            KvLayout layout = randomLayout(random);
            int blockSize = 1 << random.nextInt(6);
            int length = 1 + random.nextInt(120);
            try (BlockPool pool = BlockPool.forTokens(layout, blockSize, length)) {
                PagedKvStore paged = scattered(pool, pool.totalBlocks(), random);
                DenseKvStore dense = new DenseKvStore(layout, length);
                Sequence sequence = Sequence.random(random, layout, length);
                sequence.writeTo(paged, 0, length);
                sequence.writeTo(dense, 0, length);
                float[] query = new float[layout.headSize() + 1];
                for (int layer = 0; layer < layout.layers(); layer++) {
                    for (int head = 0; head < layout.heads(); head++) {
                        java.util.Arrays.fill(query, 0f);
                        query[1 + random.nextInt(layout.headSize())] = (float) (4 * random.nextDouble() - 2);
                        float[] scratch = new float[length];
                        assertArrayEquals(attend(dense, layer, head, length, query, scratch),
                                attend(paged, layer, head, length, query, scratch),
                                "seed " + seed + ", " + layout + ", blockSize " + blockSize);
                    }
                }
            }
        }
    }

    /**
     * Soft-capped scores (Gemma 2) in a sliding window: the paged store equals the dense one bit for bit, and the
     * weights are the softmax of {@code cap·tanh(score / cap)}, which large scores (here up to ±80) change.
     */
    @Test
    void softCappedWindowedAttendIsBitIdenticalToDenseAndCapsTheScores() {
        KvLayout layout = new KvLayout(1, 4, 2, 32);
        SplittableRandom random = new SplittableRandom(5);
        int length = 45;
        int window = 20;
        float cap = 5f;
        try (BlockPool pool = BlockPool.forTokens(layout, 16, length)) {
            PagedKvStore paged = scattered(pool, pool.totalBlocks(), random);
            DenseKvStore dense = new DenseKvStore(layout, length);
            Sequence sequence = Sequence.random(random, layout, length);
            sequence.writeTo(paged, 0, length);
            sequence.writeTo(dense, 0, length);
            float[] query = new float[layout.headSize()];
            fill(random, query);
            for (int i = 0; i < query.length; i++) {
                query[i] *= 40;
            }
            for (int head = 0; head < layout.heads(); head++) {
                float[] denseOut = new float[layout.headSize()];
                float[] pagedOut = new float[layout.headSize()];
                float[] uncappedOut = new float[layout.headSize()];
                float[] denseWeights = new float[length];
                dense.attend(0, head, length - 1, window, cap, query, 0, denseOut, 0, denseWeights);
                paged.attend(0, head, length - 1, window, cap, query, 0, pagedOut, 0, new float[length]);
                dense.attend(0, head, length - 1, window, KvStore.NO_SOFT_CAP, query, 0, uncappedOut, 0,
                        new float[length]);
                assertArrayEquals(denseOut, pagedOut, "head " + head);
                assertFalse(java.util.Arrays.equals(denseOut, uncappedOut), "the cap changes the result");
                double[] scores = new double[window];
                for (int t = 0; t < window; t++) {
                    float[] key = sequence.keys()[0][length - window + t];
                    for (int i = 0; i < 32; i++) {
                        scores[t] += (double) query[i] * key[head / 2 * 32 + i];
                    }
                    scores[t] /= Math.sqrt(32);
                }
                double max = Double.NEGATIVE_INFINITY;
                for (double score : scores) {
                    max = Math.max(max, cap * Math.tanh(score / cap));
                }
                double sum = 0;
                for (double score : scores) {
                    sum += Math.exp(cap * Math.tanh(score / cap) - max);
                }
                for (int t = 0; t < window; t++) {
                    double expected = Math.exp(cap * Math.tanh(scores[t] / cap) - max) / sum;
                    // The dense store writes its weights from the window's start, the paged one at positions.
                    assertEquals(expected, denseWeights[t], 1e-5, "weight " + t);
                }
            }
        }
    }

    /** The strict form of {@link #attendMatchesTheDenseStore}, for every head size. */
    @Test
    void attendIsBitIdenticalToDenseForEveryHeadSize() {
        for (int headSize : new int[] {16, 17, 32, 33, 64, 65, 80, 128}) {
            KvLayout layout = new KvLayout(1, 4, 2, headSize);
            SplittableRandom random = new SplittableRandom(headSize);
            int length = 70;
            try (BlockPool pool = BlockPool.forTokens(layout, 16, length)) {
                PagedKvStore paged = scattered(pool, pool.totalBlocks(), random);
                DenseKvStore dense = new DenseKvStore(layout, length);
                Sequence sequence = Sequence.random(random, layout, length);
                sequence.writeTo(paged, 0, length);
                sequence.writeTo(dense, 0, length);
                float[] query = new float[headSize + 1];
                fill(random, query);
                for (int head = 0; head < layout.heads(); head++) {
                    assertArrayEquals(attend(dense, 0, head, length, query, new float[length]),
                            attend(paged, 0, head, length, query, new float[length]), "headSize " + headSize);
                }
            }
        }
    }

    @Test
    void positionPLivesInBlockPOverBlockSizeAtSlotPModBlockSize() {
        KvLayout layout = new KvLayout(2, 6, 3, 5);
        SplittableRandom random = new SplittableRandom(11);
        try (BlockPool pool = BlockPool.forTokens(layout, 4, 40)) {
            PagedKvStore store = scattered(pool, 5, random);
            assertEquals(20, store.capacity());
            Sequence sequence = Sequence.random(random, layout, 20);
            sequence.writeTo(store, 0, 20);
            KvBlockLayout blocks = pool.blockLayout();
            ValueLayout.OfFloat f32 = ValueLayout.JAVA_FLOAT.withOrder(ByteOrder.LITTLE_ENDIAN);
            for (int l = 0; l < 2; l++) {
                for (int p = 0; p < 20; p++) {
                    int id = store.blocks()[p / 4];
                    for (int h = 0; h < 3; h++) {
                        for (int i = 0; i < 5; i++) {
                            assertEquals(sequence.keys()[l][p][h * 5 + i], pool.memory().get(f32,
                                    blocks.keyOffset(id, l, h, p % 4) + (long) i * Float.BYTES));
                            assertEquals(sequence.values()[l][p][h * 5 + i], pool.memory().get(f32,
                                    blocks.valueOffset(id, l, h, p % 4) + (long) i * Float.BYTES));
                        }
                    }
                }
            }
        }
    }

    /**
     * A request reuses a cached prefix that ends inside a block and diverges after it: the shared full block is
     * read in place, the partial one copied (copy-on-write), and attention equals that of writing it all fresh,
     * while the cached blocks keep their contents.
     */
    @Test
    void copyPrefixThenContinuingGivesTheSameAttentionAsWritingEverythingFresh() {
        KvLayout layout = new KvLayout(2, 6, 2, 7);
        int blockSize = 8;
        SplittableRandom random = new SplittableRandom(5);
        Sequence first = Sequence.random(random, layout, 13);
        Sequence second = Sequence.random(random, layout, 21);
        int shared = 11;
        float[][] query = new float[layout.heads()][layout.headSize() + 1];
        for (float[] q : query) {
            fill(random, q);
        }
        try (BlockPool pool = BlockPool.forTokens(layout, blockSize, 100)) {
            // The first request fills a full and a partial block; the "prefix index" keeps both.
            PagedKvStore a = new PagedKvStore(pool);
            a.appendBlock(pool.allocate());
            a.appendBlock(pool.allocate());
            first.writeTo(a, 0, 13);
            float[][] before = attendAll(a, 13, query);
            int[] cached = a.blocks();
            for (int id : cached) {
                pool.retain(id);
            }
            a.releaseBlocks();
            assertEquals(0, a.capacity());

            // The second shares 11 tokens: block 0 whole, 3 tokens of block 1, then diverges.
            PagedKvStore b = new PagedKvStore(pool);
            b.appendShared(cached[0]);
            int copy = pool.allocate();
            pool.copyPrefix(cached[1], copy, shared - blockSize);
            b.appendBlock(copy);
            b.appendBlock(pool.allocate());
            assertTrue(b.isShared(0));
            assertFalse(b.isShared(1));
            second.writeTo(b, shared, 21);
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> first.writeTo(b, 5, 6));
            assertTrue(e.getMessage().contains("shared by 2 holders"), e.getMessage());

            PagedKvStore fresh = new PagedKvStore(pool);
            DenseKvStore dense = new DenseKvStore(layout, 21);
            for (int i = 0; i < 3; i++) {
                fresh.appendBlock(pool.allocate());
            }
            for (KvStore store : new KvStore[] {fresh, dense}) {
                first.writeTo(store, 0, shared);
                second.writeTo(store, shared, 21);
            }
            for (int n = 1; n <= 21; n++) {
                float[][] expected = attendAll(fresh, n, query);
                float[][] actual = attendAll(b, n, query);
                float[][] reference = attendAll(dense, n, query);
                for (int h = 0; h < layout.heads(); h++) {
                    assertArrayEquals(expected[h], actual[h], "length " + n + ", head " + h);
                    assertMatchesDense(reference[h], actual[h], layout.headSize(), "length " + n + ", head " + h);
                }
            }

            PagedKvStore reader = new PagedKvStore(pool);
            reader.appendShared(cached[0]);
            reader.appendShared(cached[1]);
            float[][] after = attendAll(reader, 13, query);
            for (int h = 0; h < layout.heads(); h++) {
                assertArrayEquals(before[h], after[h], "the cached blocks are unchanged");
            }
        }
    }

    /** The last layer's attention of every head over {@code length} positions. */
    private static float[][] attendAll(KvStore store, int length, float[][] query) {
        float[][] out = new float[query.length][];
        for (int h = 0; h < query.length; h++) {
            out[h] = attend(store, store.layout().layers() - 1, h, length, query[h], new float[length]);
        }
        return out;
    }

    /**
     * A forward pass that failed after writing some layers of its rows is rewound and run again: attention then
     * reads exactly what a store that never failed reads, over every codec (the full-precision window of lossy
     * ones included).
     */
    @Test
    void discardingAFailedPassesRowsAndWritingThemAgainReadsAsIfItNeverFailed() {
        KvLayout layout = new KvLayout(2, 4, 2, 8);
        int blockSize = 8;
        SplittableRandom random = new SplittableRandom(17);
        Sequence sequence = Sequence.random(random, layout, 21);
        float[][] query = new float[layout.heads()][layout.headSize() + 1];
        for (float[] q : query) {
            fill(random, q);
        }
        for (KvCodecKind codec : KvCodecKind.values()) {
            try (BlockPool pool = BlockPool.forTokens(KvBlockLayout.of(layout, blockSize, codec), 64)) {
                PagedKvStore clean = new PagedKvStore(pool);
                PagedKvStore retried = new PagedKvStore(pool);
                for (int b = 0; b < 3; b++) {
                    clean.appendBlock(pool.allocate());
                    retried.appendBlock(pool.allocate());
                }
                for (PagedKvStore store : new PagedKvStore[] {clean, retried}) {
                    sequence.writeTo(store, 0, 9);
                    attendAll(store, 9, query);
                }
                // The failed pass: layer 0 wrote rows 9..15, layer 1 rows 9..11, then the kernel threw.
                for (int p = 9; p < 16; p++) {
                    retried.write(0, p, sequence.keys()[0][p], 0, sequence.values()[0][p], 0);
                }
                for (int p = 9; p < 12; p++) {
                    retried.write(1, p, sequence.keys()[1][p], 0, sequence.values()[1][p], 0);
                }
                retried.discardFrom(9);
                assertEquals(9, retried.positions());
                for (PagedKvStore store : new PagedKvStore[] {clean, retried}) {
                    sequence.writeTo(store, 9, 21);
                }
                for (int n = 9; n <= 21; n++) {
                    float[][] expected = attendAll(clean, n, query);
                    float[][] actual = attendAll(retried, n, query);
                    for (int h = 0; h < layout.heads(); h++) {
                        assertArrayEquals(expected[h], actual[h], codec + ", length " + n + ", head " + h);
                    }
                }
            }
        }
    }

    @Test
    void releasingBlocksGoesTailFirstAndKeepsBlocksHeldElsewhere() {
        KvLayout layout = new KvLayout(1, 2, 1, 4);
        try (BlockPool pool = BlockPool.forTokens(layout, 2, 10)) {
            PagedKvStore store = new PagedKvStore(pool);
            for (int i = 0; i < 4; i++) {
                store.appendBlock(pool.allocate());
            }
            pool.retain(store.blockId(0));
            assertArrayEquals(new int[] {0, 1, 2, 3}, store.blocks());
            store.releaseBlocks();
            assertArrayEquals(new int[] {4, 3, 2, 1}, pool.freeQueue());
            assertEquals(1, pool.refCount(0), "the block the prefix index holds stays cached");
            assertEquals(0, store.blockCount());
            pool.checkInvariants();
        }
    }

    @Test
    void anEvictedBlockRevivedBeforeReuseStillHoldsItsKeysAndValues() {
        KvLayout layout = new KvLayout(2, 4, 2, 6);
        SplittableRandom random = new SplittableRandom(9);
        Sequence sequence = Sequence.random(random, layout, 8);
        float[][] query = new float[layout.heads()][layout.headSize() + 1];
        for (float[] q : query) {
            fill(random, q);
        }
        try (BlockPool pool = BlockPool.forTokens(layout, 8, 24)) {
            PagedKvStore store = new PagedKvStore(pool);
            int id = pool.allocate();
            int generation = pool.generation(id);
            store.appendBlock(id);
            sequence.writeTo(store, 0, 8);
            float[][] expected = attendAll(store, 8, query);
            store.releaseBlocks();
            pool.allocate();
            assertTrue(pool.revive(id, generation));
            store.appendBlock(id);
            float[][] actual = attendAll(store, 8, query);
            for (int h = 0; h < layout.heads(); h++) {
                assertArrayEquals(expected[h], actual[h]);
            }
        }
    }

    @Test
    void positionsAndLayersOutsideTheStoreFail() {
        KvLayout layout = new KvLayout(2, 4, 2, 3);
        try (BlockPool pool = BlockPool.forTokens(layout, 4, 16)) {
            PagedKvStore store = new PagedKvStore(pool);
            float[] kv = new float[layout.kvDim()];
            assertThrows(IndexOutOfBoundsException.class, () -> store.write(0, 0, kv, 0, kv, 0), "no blocks yet");
            store.appendBlock(pool.allocate());
            store.write(0, 3, kv, 0, kv, 0);
            assertThrows(IndexOutOfBoundsException.class, () -> store.write(0, 4, kv, 0, kv, 0));
            assertThrows(IndexOutOfBoundsException.class, () -> store.write(0, -1, kv, 0, kv, 0));
            assertThrows(IndexOutOfBoundsException.class, () -> store.write(2, 0, kv, 0, kv, 0));
            assertThrows(IndexOutOfBoundsException.class, () -> store.write(0, 0, kv, 1, kv, 0));
            float[] q = new float[3];
            assertThrows(IndexOutOfBoundsException.class, () -> store.attend(0, 0, 4, q, 0, q, 0, new float[8]));
            assertThrows(IndexOutOfBoundsException.class, () -> store.attend(0, 4, 0, q, 0, q, 0, new float[8]));
            assertThrows(IndexOutOfBoundsException.class, () -> store.attend(-1, 0, 0, q, 0, q, 0, new float[8]));
            assertThrows(IllegalStateException.class, () -> store.appendBlock(3), "block 3 is free");
        }
    }
}
