package dev.ultrakv.kvcache;

import dev.ultrakv.kvcache.policy.PolicyKind;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The manager drives the prefix index and the pool as docs/policies.md says, and never leaks a block or a pin. */
class KvCacheManagerTest {
    /** A tiny K/V shape: the manager's bookkeeping does not depend on it. */
    private static final KvLayout LAYOUT = new KvLayout(2, 2, 1, 4);
    private static final int BLOCK = 4;
    private static final String MODEL = "test-model";

    private static int[] tokens(int start, int n) {
        int[] t = new int[n];
        for (int i = 0; i < n; i++) {
            t[i] = start + i;
        }
        return t;
    }

    /** Runs a sequence without a model: acquire, "generate" {@code generated} tokens, release. */
    private static KvCacheManager.Sequence serve(KvCacheManager cache, int[] prompt, int generated) {
        KvCacheManager.Sequence s = cache.acquire(prompt, generated);
        cache.checkInvariants();
        int[] all = Arrays.copyOf(prompt, prompt.length + generated);
        for (int i = 0; i < generated; i++) {
            all[prompt.length + i] = 1000 + prompt[0] * 10 + i;
        }
        cache.release(s, all, prompt.length + Math.max(0, generated - 1));
        cache.checkInvariants();
        return s;
    }

    @Test
    void aRepeatedPromptIsAFullHitAndRecomputesOnlyItsLastPositionInAPrivateBlock() {
        try (var cache = new KvCacheManager(MODEL, LAYOUT, BLOCK, 64, PolicyKind.LRU)) {
            int[] prompt = tokens(1, 8);
            KvCacheManager.Sequence first = serve(cache, prompt, 3);
            assertEquals(0, first.cachedTokens());
            assertFalse(first.isFullHit());

            KvCacheManager.Sequence again = cache.acquire(prompt, 3);
            assertTrue(again.isFullHit());
            assertEquals(8, again.cachedTokens());
            assertEquals(7, again.computeFrom());
            PagedKvStore store = again.store();
            assertEquals(3, store.blockCount(), "two prompt blocks and one for the generation");
            assertTrue(store.isShared(0), "the first block is read in place");
            assertFalse(store.isShared(1), "the block of the recomputed position is a private copy");
            cache.checkInvariants();
            cache.release(again, Arrays.copyOf(prompt, 11), 10);
            cache.checkInvariants();
            assertEquals(cache.cachedBlocks(), cache.usedBlocks());
            assertEquals(0, cache.pinnedBlocks());
        }
    }

    @Test
    void aRepeatedPromptShorterThanABlockIsAHit() {
        try (var cache = new KvCacheManager(MODEL, LAYOUT, BLOCK, 64, PolicyKind.ADAPTIVE)) {
            int[] prompt = tokens(1, 3);
            serve(cache, prompt, 1);
            KvCacheManager.Sequence again = serve(cache, prompt, 1);
            assertTrue(again.isFullHit());
            assertEquals(3, again.cachedTokens());
            assertEquals(2, again.computeFrom());
        }
    }

    @Test
    void aPromptEndingInsideACachedBlockCopiesThePartBeforeWriting() {
        try (var cache = new KvCacheManager(MODEL, LAYOUT, BLOCK, 64, PolicyKind.LFU)) {
            serve(cache, tokens(1, 10), 1);
            int[] longer = Arrays.copyOf(tokens(1, 6), 9);
            longer[6] = 77;
            longer[7] = 78;
            longer[8] = 79;
            KvCacheManager.Sequence s = cache.acquire(longer, 2);
            assertEquals(6, s.cachedTokens());
            assertEquals(6, s.computeFrom());
            assertTrue(s.store().isShared(0));
            assertFalse(s.store().isShared(1), "the partial block is a private copy");
            cache.checkInvariants();
            cache.abort(s);
            cache.checkInvariants();
            assertEquals(cache.cachedBlocks(), cache.usedBlocks());
        }
    }

    @Test
    void aSequenceLargerThanTheWholeCacheFailsClearlyAndHoldsNothing() {
        try (var cache = new KvCacheManager(MODEL, LAYOUT, BLOCK, 8, PolicyKind.LRU)) {
            serve(cache, tokens(1, 4), 1);
            var e = assertThrows(IllegalStateException.class, () -> cache.acquire(tokens(50, 5), 10));
            assertTrue(e.getMessage().contains("cannot hold"), e.getMessage());
            cache.checkInvariants();
            assertEquals(0, cache.pinnedBlocks());
            assertEquals(0, cache.liveSequences());
        }
    }

    @Test
    void aFullPoolEvictsCachedBlocksToMakeRoom() {
        try (var cache = new KvCacheManager(MODEL, LAYOUT, BLOCK, 16, PolicyKind.ADAPTIVE)) {
            for (int i = 0; i < 20; i++) {
                serve(cache, tokens(100 * i + 1, 7), 2);
            }
            assertTrue(cache.indexStats().evictedBlocks() > 0);
            assertEquals(cache.cachedBlocks(), cache.usedBlocks());
        }
    }

    @Test
    void abortFreesTheSequencesBlocksAndUnpinsAndIsIdempotent() {
        try (var cache = new KvCacheManager(MODEL, LAYOUT, BLOCK, 64, PolicyKind.LRU)) {
            serve(cache, tokens(1, 8), 1);
            int cached = cache.cachedBlocks();
            KvCacheManager.Sequence s = cache.acquire(tokens(1, 12), 5);
            assertTrue(cache.pinnedBlocks() > 0);
            cache.abort(s);
            cache.abort(s);
            cache.checkInvariants();
            assertEquals(0, cache.pinnedBlocks());
            assertEquals(cached, cache.usedBlocks());
            assertThrows(IllegalStateException.class, () -> cache.release(s, tokens(1, 12), 12));
        }
    }

    @Test
    void twoLiveSequencesSharingAPrefixKeepTheBooks() {
        try (var cache = new KvCacheManager(MODEL, LAYOUT, BLOCK, 64, PolicyKind.LRU)) {
            serve(cache, tokens(1, 8), 1);
            KvCacheManager.Sequence a = cache.acquire(tokens(1, 9), 2);
            KvCacheManager.Sequence b = cache.acquire(tokens(1, 10), 2);
            cache.checkInvariants();
            cache.release(b, tokens(1, 12), 11);
            cache.checkInvariants();
            cache.release(a, tokens(1, 11), 10);
            cache.checkInvariants();
            assertEquals(0, cache.pinnedBlocks());
        }
    }
}
