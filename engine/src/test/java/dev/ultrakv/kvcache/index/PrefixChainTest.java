package dev.ultrakv.kvcache.index;

import dev.ultrakv.kvcache.policy.EvictionPolicies;
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

/**
 * Blocks handed to the index while their sequence still runs (a sliding window passed them), with 4-token blocks:
 * they are cached at once and unpinned, the final insert continues after them, and a chain whose block was evicted
 * stops taking blocks.
 */
class PrefixChainTest {
    static final int BLOCK = 4;
    static final String MODEL = "m";

    final List<Integer> released = new ArrayList<>();
    final PrefixIndex index = new PrefixIndex(BLOCK, EvictionPolicies.create(PolicyKind.LRU, 64, BLOCK),
            released::add);

    static int[] tokens(int from, int count) {
        return IntStream.range(from, from + count).toArray();
    }

    @Test
    void handedOverBlocksAreCachedUnpinnedAndTheFinalInsertContinuesAfterThem() {
        int[] sequence = tokens(0, 18);
        PrefixMatch match = index.match(MODEL, Arrays.copyOf(sequence, 6));
        index.pin(match);
        PrefixChain chain = index.chain(match, 0);
        assertTrue(index.handOver(chain, sequence, 10));
        assertTrue(index.handOver(chain, sequence, 11));
        index.checkInvariants();
        assertEquals(2, chain.blocks());
        assertEquals(2, index.cachedBlocks());
        assertEquals(0, index.pinnedBlocks());
        assertEquals(1, index.evictableBlocks(), "only the chain's tail is a leaf");
        assertArrayEquals(new int[] {10, 11}, index.match(MODEL, sequence).fullBlocks());

        int[] table = {-1, -1, 12, 13, 14};
        InsertResult result = index.insert(chain, sequence, 18, table);
        index.unpin(match);
        index.checkInvariants();
        assertEquals(3, result.adoptedBlocks());
        PrefixMatch again = index.match(MODEL, sequence);
        assertArrayEquals(new int[] {10, 11, 12, 13}, again.fullBlocks());
        assertEquals(14, again.partialBlock());
        assertEquals(18, again.cachedTokens());
        assertTrue(released.isEmpty());
    }

    @Test
    void aChainStartsAfterTheSharedBlocksAndGivesBackDuplicates() {
        int[] first = tokens(0, 12);
        PrefixMatch m1 = index.match(MODEL, first);
        index.pin(m1);
        index.insert(m1, first, 12, new int[] {0, 1, 2});
        index.unpin(m1);

        int[] sequence = tokens(0, 16);
        PrefixMatch match = index.match(MODEL, Arrays.copyOf(sequence, 12));
        index.pin(match);
        // A full hit shares the first two blocks and recomputes the third in a private copy (block 7).
        PrefixChain chain = index.chain(match, 2);
        assertEquals(2, chain.blocks());
        assertTrue(index.handOver(chain, sequence, 7));
        assertEquals(List.of(7), released, "the copy duplicates cached block 2 and is given back");
        assertTrue(index.handOver(chain, sequence, 8));
        index.unpin(match);
        index.checkInvariants();
        assertArrayEquals(new int[] {0, 1, 2, 8}, index.match(MODEL, sequence).fullBlocks());
    }

    @Test
    void anEvictedBlockBreaksTheChainAndTheRestStaysTheCallers() {
        int[] sequence = tokens(100, 16);
        PrefixMatch match = index.match(MODEL, Arrays.copyOf(sequence, 4));
        index.pin(match);
        PrefixChain chain = index.chain(match, 0);
        assertTrue(index.handOver(chain, sequence, 20));
        assertTrue(index.handOver(chain, sequence, 21));
        assertEquals(2, index.evict(2), "the handed-over blocks are unpinned: the tail goes, then its parent");
        assertEquals(List.of(21, 20), released);
        assertFalse(chain.isIntact());
        assertFalse(index.handOver(chain, sequence, 22), "its parent is gone: block 22 stays the caller's");
        assertEquals(2, chain.blocks());
        assertThrows(IllegalStateException.class, () -> index.insert(chain, sequence, 16, new int[] {-1, -1, 22, 23}));
        index.unpin(match);
        index.checkInvariants();
        assertEquals(0, index.cachedBlocks());
        assertEquals(List.of(21, 20), released);
    }

    @Test
    void aChainNeedsAPinnedMatchAndAnInsertThatReachesItsEnd() {
        int[] sequence = tokens(0, 12);
        PrefixMatch match = index.match(MODEL, sequence);
        assertThrows(IllegalStateException.class, () -> index.chain(match, 0));
        index.pin(match);
        assertThrows(IndexOutOfBoundsException.class, () -> index.chain(match, 1), "nothing is cached to share");
        PrefixChain chain = index.chain(match, 0);
        assertTrue(index.handOver(chain, sequence, 3));
        assertTrue(index.handOver(chain, sequence, 4));
        assertThrows(IllegalArgumentException.class, () -> index.insert(chain, sequence, 7, new int[] {-1, -1}));
        index.insert(chain, sequence, 8, new int[] {-1, -1});
        index.unpin(match);
        index.checkInvariants();
        assertEquals(2, index.cachedBlocks());
    }
}
