package dev.ultrakv.kvcache;

import dev.ultrakv.kvcache.compress.CompressionMethod;
import dev.ultrakv.kvcache.compress.KvCompression;
import dev.ultrakv.kvcache.policy.PolicyKind;
import dev.ultrakv.kvcache.tier.InMemoryKvTier;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A model with a sliding window on every layer: a running sequence gives the blocks its window passed to the prefix
 * index, so it holds a window's worth of blocks however long it grows, and what it gave away stays cached for later
 * requests while memory allows.
 */
class KvCacheSlidingWindowTest {
    private static final KvLayout LAYOUT = new KvLayout(2, 2, 1, 4);
    private static final int BLOCK = 4;
    /** Keys each query reads: two blocks, so a query reads its own block, the one before and maybe one more. */
    private static final int SPAN = 8;
    private static final String MODEL = "windowed";

    private static KvCacheSpec spec(long maxTokens, int span) {
        return KvCacheSpec.ofTokens(BLOCK, maxTokens, PolicyKind.LRU).withAttentionSpan(span);
    }

    private static int[] tokens(int start, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = start + i;
        }
        return t;
    }

    /** Blocks of the store not given away. */
    private static int heldBlocks(PagedKvStore store) {
        int held = 0;
        for (int id : store.blocks()) {
            held += id == BlockTable.NO_BLOCK ? 0 : 1;
        }
        return held;
    }

    /**
     * Runs the positions of {@code tokens} after the prompt as the scheduler does, one per step: room for the next
     * row, then the window slid past what is computed. Returns the most blocks the sequence held at once, or -1 if
     * the pool ran dry.
     */
    private static int grow(KvCacheManager cache, KvCacheManager.Sequence s, int[] tokens, int prompt) {
        int most = heldBlocks(s.store());
        cache.slideWindow(s, tokens, prompt);
        for (int computed = prompt; computed < tokens.length; computed++) {
            if (!cache.allocateSlots(s, computed + 1)) {
                return -1;
            }
            most = Math.max(most, heldBlocks(s.store()));
            cache.slideWindow(s, tokens, computed + 1);
            cache.checkInvariants();
        }
        return most;
    }

    @Test
    void aLongSequenceHoldsOnlyItsWindowAndAllOfItIsCachedAfterwards() {
        try (var cache = new KvCacheManager(MODEL, LAYOUT, spec(256, SPAN))) {
            int[] all = tokens(1, 41);
            var s = cache.tryAcquire(Arrays.copyOf(all, 6), 0);
            int most = grow(cache, s, all, 6);
            assertEquals((SPAN - 1) / BLOCK + 2, most, "its own block, the window's and the next one's");
            assertEquals(8, cache.cachedBlocks(), "positions 0-31 are behind the last query's window: cached");
            assertEquals(0, cache.pinnedBlocks());
            assertEquals(3, heldBlocks(s.store()));
            cache.release(s, all, 41);
            cache.checkInvariants();
            assertEquals(cache.cachedBlocks(), cache.usedBlocks());
            var again = cache.acquire(all, 1);
            assertEquals(41, again.cachedTokens(), "given away early or inserted at the end, every block is cached");
            cache.abort(again);
            cache.checkInvariants();
        }
    }

    @Test
    void aPoolSmallerThanTheSequenceHoldsItWhenEvictionTakesWhatTheWindowPassed() {
        int[] all = tokens(1, 41);
        try (var full = new KvCacheManager(MODEL, LAYOUT, spec(24, KvCacheSpec.FULL_ATTENTION))) {
            var s = full.tryAcquire(Arrays.copyOf(all, 6), 0);
            assertEquals(-1, grow(full, s, all, 6), "11 blocks of full attention do not fit in 6");
            full.abort(s);
        }
        try (var cache = new KvCacheManager(MODEL, LAYOUT, spec(24, SPAN))) {
            var s = cache.tryAcquire(Arrays.copyOf(all, 6), 0);
            assertTrue(grow(cache, s, all, 6) > 0, "the window fits: blocks it passed are evicted for the next");
            assertTrue(cache.indexStats().evictedBlocks() > 0);
            cache.release(s, all, 41);
            cache.checkInvariants();
            assertEquals(cache.cachedBlocks(), cache.usedBlocks(), "the blocks after the broken chain were freed");
            assertEquals(0, cache.pinnedBlocks());
            int cached = cache.cachedPrefixTokens(all);
            assertTrue(cached < 41 && cached % BLOCK == 0, "the chain's surviving beginning: " + cached);
        }
    }

    @Test
    void aSharedPrefixStaysPinnedAndTheBlocksAfterItAreGivenAway() {
        try (var cache = new KvCacheManager(MODEL, LAYOUT, spec(256, SPAN))) {
            int[] prefix = tokens(1, 8);
            var first = cache.acquire(prefix, 1);
            cache.release(first, prefix, 8);
            int[] all = tokens(1, 30);
            var s = cache.tryAcquire(Arrays.copyOf(all, 12), 0);
            assertEquals(8, s.cachedTokens());
            grow(cache, s, all, 12);
            assertEquals(2, cache.pinnedBlocks(), "the shared prefix stays pinned while the sequence runs");
            assertEquals(BlockTable.NO_BLOCK, s.store().blockId(2), "the first block after it was given away");
            assertTrue(cache.indexStats().insertedBlocks() >= 5);
            cache.release(s, all, 30);
            cache.checkInvariants();
            assertEquals(0, cache.pinnedBlocks());
            assertEquals(30, cache.cachedPrefixTokens(all));
        }
    }

    @Test
    void blocksTheWindowPassedAreWrittenThroughToTheTiersAsTheyGo() {
        var store = new InMemoryKvTier.Store();
        int[] all = tokens(1, 41);
        try (var cache = new KvCacheManager(MODEL, LAYOUT, spec(256, SPAN), List.of(new InMemoryKvTier(store)),
                Duration.ofSeconds(5))) {
            var s = cache.tryAcquire(Arrays.copyOf(all, 6), 0);
            grow(cache, s, all, 6);
            assertEquals(8, store.size(), "each given-away block was offered when it went");
            cache.release(s, all, 41);
            assertEquals(10, store.size(), "the rest of the full blocks at the end");
        }
    }

    @Test
    void aCompressedSequenceKeepsItsBlocks() {
        var spec = spec(256, SPAN).withCompression(new KvCompression(CompressionMethod.STREAMING, 0.5));
        try (var cache = new KvCacheManager(MODEL, LAYOUT, spec)) {
            int[] all = tokens(1, 24);
            var s = cache.acquire(all, 1);
            cache.slideWindow(s, all, 24);
            for (int id : s.store().blocks()) {
                assertFalse(id == BlockTable.NO_BLOCK);
            }
            cache.abort(s);
            cache.checkInvariants();
        }
    }
}
