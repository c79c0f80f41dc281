package dev.ultrakv.kvcache.index;

import dev.ultrakv.kvcache.policy.BlockEntry;
import dev.ultrakv.kvcache.policy.EvictionPolicies;
import dev.ultrakv.kvcache.policy.EvictionPolicy;
import dev.ultrakv.kvcache.policy.ForwardingPolicy;
import dev.ultrakv.kvcache.policy.PolicyKind;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Matching, inserting and the flow of block ids, with 4-token blocks. */
class PrefixIndexTest {
    static final int BLOCK = 4;
    static final String MODEL = "m";

    final List<Integer> released = new ArrayList<>();
    final PrefixIndex index = new PrefixIndex(BLOCK, EvictionPolicies.create(PolicyKind.LRU, 64, BLOCK),
            released::add);
    int nextBlock;

    static int[] tokens(int from, int count) {
        return IntStream.range(from, from + count).toArray();
    }

    static int[] concat(int[] a, int[] b) {
        int[] all = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    /** Runs a whole request the engine's way: match, pin, allocate the rest, insert, unpin. */
    PrefixMatch serve(String model, int[] sequence, int promptLength) {
        int[] prompt = Arrays.copyOf(sequence, promptLength);
        PrefixMatch match = index.match(model, prompt);
        index.pin(match);
        int blocks = Math.ceilDiv(sequence.length, BLOCK);
        int[] table = Arrays.copyOf(match.fullBlocks(), blocks);
        for (int i = match.fullBlockCount(); i < blocks; i++) {
            table[i] = nextBlock++;
        }
        index.insert(match, sequence, sequence.length, table);
        index.unpin(match);
        index.checkInvariants();
        return match;
    }

    @Test
    void wholeBlocksOfACachedPromptAreSharedInOrder() {
        serve(MODEL, tokens(0, 12), 12);
        PrefixMatch match = index.match(MODEL, tokens(0, 12));
        assertArrayEquals(new int[] {0, 1, 2}, match.fullBlocks());
        assertFalse(match.hasPartial());
        assertEquals(12, match.cachedTokens());
        assertTrue(match.isFullHit());
    }

    @Test
    void repeatedPromptShorterThanOneBlockIsAHit() {
        serve(MODEL, tokens(0, 3), 3);
        PrefixMatch match = index.match(MODEL, tokens(0, 3));
        assertEquals(0, match.fullBlockCount());
        assertEquals(0, match.partialBlock());
        assertEquals(3, match.partialTokens());
        assertTrue(match.isFullHit());
    }

    @Test
    void promptEndingInsideACachedBlockCopiesItsBeginning() {
        serve(MODEL, tokens(0, 8), 8);
        PrefixMatch match = index.match(MODEL, tokens(0, 6));
        assertArrayEquals(new int[] {0}, match.fullBlocks());
        assertEquals(1, match.partialBlock());
        assertEquals(2, match.partialTokens());
        assertTrue(match.isFullHit());
    }

    @Test
    void divergenceMidBlockMatchesTheTokensBeforeIt() {
        serve(MODEL, tokens(0, 8), 8);
        int[] diverging = tokens(0, 8);
        diverging[6] = 99;
        PrefixMatch match = index.match(MODEL, diverging);
        assertArrayEquals(new int[] {0}, match.fullBlocks());
        assertEquals(1, match.partialBlock());
        assertEquals(2, match.partialTokens());
        assertEquals(6, match.cachedTokens());
        assertFalse(match.isFullHit());
    }

    @Test
    void differentFirstTokenMatchesNothing() {
        serve(MODEL, tokens(0, 8), 8);
        PrefixMatch match = index.match(MODEL, tokens(1, 8));
        assertEquals(0, match.cachedTokens());
        assertEquals(-1, match.partialBlock());
    }

    @Test
    void twoModelsNeverShareEntries() {
        serve("llama", tokens(0, 8), 8);
        assertEquals(0, index.match("mistral", tokens(0, 8)).cachedTokens());
        serve("mistral", tokens(0, 8), 8);
        assertArrayEquals(new int[] {0, 1}, index.match("llama", tokens(0, 8)).fullBlocks());
        assertArrayEquals(new int[] {2, 3}, index.match("mistral", tokens(0, 8)).fullBlocks());
        assertEquals(4, index.cachedBlocks());
    }

    @Test
    void generatedTokensAreCachedSoTheNextTurnHits() {
        int[] prompt = tokens(0, 6);
        int[] answer = tokens(100, 5);
        serve(MODEL, concat(prompt, answer), prompt.length);
        int[] nextTurn = concat(concat(prompt, answer), tokens(200, 3));
        PrefixMatch match = index.match(MODEL, nextTurn);
        assertEquals(2, match.fullBlockCount());
        assertEquals(3, match.partialTokens(), "the partial tail of the answer is matched too");
        assertEquals(11, match.cachedTokens());
    }

    @Test
    void blocksCachedByAnotherRequestComeBackAsDuplicates() {
        PrefixMatch first = index.match(MODEL, tokens(0, 10));
        PrefixMatch second = index.match(MODEL, tokens(0, 10));
        index.pin(first);
        index.pin(second);
        InsertResult one = index.insert(first, tokens(0, 10), 10, new int[] {10, 11, 12});
        InsertResult two = index.insert(second, tokens(0, 10), 10, new int[] {20, 21, 22});
        index.unpin(first);
        index.unpin(second);
        assertEquals(3, one.adoptedBlocks());
        assertArrayEquals(new int[0], one.duplicateBlocks());
        assertEquals(0, two.adoptedBlocks());
        assertArrayEquals(new int[] {20, 21, 22}, two.duplicateBlocks());
        assertEquals(List.of(20, 21, 22), released);
        assertEquals(3, index.cachedBlocks());
        index.checkInvariants();
    }

    @Test
    void sharedBlocksOfTheMatchAreNotDuplicates() {
        serve(MODEL, tokens(0, 8), 8);
        PrefixMatch match = serve(MODEL, tokens(0, 12), 12);
        assertEquals(2, match.fullBlockCount());
        assertTrue(released.isEmpty());
        assertEquals(3, index.cachedBlocks());
    }

    @Test
    void longerTailSupersedesTheCachedPartialOneWhenItsCopyIsDone() {
        serve(MODEL, tokens(0, 6), 6); // blocks 0 (full) and 1 (2-token partial)
        PrefixMatch match = index.match(MODEL, tokens(0, 7));
        assertEquals(1, match.partialBlock());
        index.pin(match);
        int[] table = {0, 7};
        InsertResult result = index.insert(match, tokens(0, 7), 7, table);
        assertEquals(1, result.supersededBlocks());
        assertTrue(released.isEmpty(), "the pinned copy source stays until unpinned");
        index.checkInvariants();
        index.unpin(match);
        assertEquals(List.of(1), released);
        assertEquals(7, index.match(MODEL, tokens(0, 7)).cachedTokens());
        assertEquals(7, index.match(MODEL, tokens(0, 7)).partialBlock());
        index.checkInvariants();
    }

    /**
     * A superseded partial block stays while pinned; once its successor is evicted, the same tokens can be cached
     * again beside it. The books allow that twin (found by the engine's soak test, which checks them mid-flight).
     */
    @Test
    void tokensOfAPinnedSupersededBlockCanBeCachedAgainAfterItsSuccessorIsEvicted() {
        serve(MODEL, tokens(0, 6), 6); // blocks 0 (full) and 1 (2-token partial)
        PrefixMatch holder = index.match(MODEL, tokens(0, 7));
        index.pin(holder);
        index.insert(holder, tokens(0, 7), 7, new int[] {0, 7}); // block 7 supersedes block 1, still pinned
        assertEquals(1, index.evict(1), "the successor, an unpinned leaf, goes");
        serve(MODEL, tokens(0, 6), 6); // the 2 tokens of block 1 are cached again, in a new block
        index.checkInvariants();
        index.unpin(holder);
        assertTrue(released.contains(1), "the superseded block is given back with its last pin");
        index.checkInvariants();
    }

    @Test
    void shorterTailIsADuplicateOfACachedLongerOne() {
        serve(MODEL, tokens(0, 7), 7);
        PrefixMatch match = index.match(MODEL, tokens(0, 5));
        index.pin(match);
        InsertResult result = index.insert(match, tokens(0, 6), 6, new int[] {0, 9});
        index.unpin(match);
        assertArrayEquals(new int[] {9}, result.duplicateBlocks());
        index.checkInvariants();
    }

    @Test
    void insertRefusesABlockIdCachedForOtherTokens() {
        serve(MODEL, tokens(0, 8), 8);
        PrefixMatch match = index.match(MODEL, tokens(50, 8));
        assertThrows(IllegalArgumentException.class, () -> index.insert(match, tokens(50, 8), 8, new int[] {1, 5}));
        assertThrows(IllegalArgumentException.class, () -> index.insert(match, tokens(50, 8), 8, new int[] {5, 5}));
        assertThrows(IllegalArgumentException.class, () -> index.insert(match, tokens(50, 8), 8, new int[] {5}));
        assertThrows(IllegalArgumentException.class, () -> index.insert(match, tokens(50, 8), 0, new int[] {5}));
        index.checkInvariants();
    }

    @Test
    void entriesOfTheTableBeyondTheTokensStayTheCallers() {
        PrefixMatch match = index.match(MODEL, tokens(0, 5));
        InsertResult result = index.insert(match, tokens(0, 5), 5, new int[] {3, 4, 99});
        assertEquals(2, result.adoptedBlocks());
        assertFalse(index.isCached(99));
        assertTrue(released.isEmpty());
    }

    @Test
    void matchingLooksButDoesNotTouch() {
        serve(MODEL, tokens(0, 8), 8);
        var before = index.stats();
        index.match(MODEL, tokens(0, 8));
        assertEquals(before, index.stats());
        assertEquals(0, index.pinnedBlocks());
    }

    @Test
    void statsCountARequestHitOnlyWhenTheWholePromptIsCached() {
        serve(MODEL, tokens(0, 8), 8);          // miss
        serve(MODEL, tokens(0, 8), 8);          // hit
        serve(MODEL, tokens(0, 10), 10);        // 8 of 10 tokens: miss
        var stats = index.stats();
        assertEquals(3, stats.lookups());
        assertEquals(1, stats.requestHits());
        assertEquals(26, stats.lookupTokens());
        assertEquals(16, stats.cachedTokens());
        assertEquals(1.0 / 3, stats.requestHitRate(), 1e-12);
        assertEquals(16.0 / 26, stats.tokenHitRate(), 1e-12);
    }

    @Test
    void emptyPromptIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> index.match(MODEL, new int[0]));
    }

    /** LRU that records the depth of each block {@link EvictionPolicy#onPromptEnd} names. */
    static final class PromptEnds extends ForwardingPolicy {
        final List<Integer> depths = new ArrayList<>();

        PromptEnds() {
            super(EvictionPolicies.create(PolicyKind.LRU, 64, BLOCK));
        }

        @Override
        public void onPromptEnd(BlockEntry entry) {
            depths.add(entry.depth());
        }
    }

    @Test
    void insertNamesTheBlockHoldingTheLastPromptTokenOncePerRequest() {
        var policy = new PromptEnds();
        var own = new PrefixIndex(BLOCK, policy, released::add);
        // A 10-token prompt (blocks 0, 1 and half of 2) with 6 generated tokens: the prompt ends in block 2.
        PrefixMatch first = own.match(MODEL, tokens(0, 10));
        own.pin(first);
        own.insert(first, tokens(0, 16), 16, new int[] {0, 1, 2, 3});
        own.unpin(first);
        // The same prompt again, a full hit: the prompt still ends in block 2, now shared.
        PrefixMatch again = own.match(MODEL, tokens(0, 10));
        own.pin(again);
        assertTrue(again.isFullHit());
        own.insert(again, tokens(0, 16), 16, new int[] {0, 1, 2, 3});
        own.unpin(again);
        assertEquals(List.of(2, 2), policy.depths);
        own.checkInvariants();
    }
}
