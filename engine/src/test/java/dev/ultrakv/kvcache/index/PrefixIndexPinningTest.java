package dev.ultrakv.kvcache.index;

import dev.ultrakv.kvcache.policy.EvictionPolicies;
import dev.ultrakv.kvcache.policy.PolicyKind;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.List;

import static dev.ultrakv.kvcache.index.PrefixIndexTest.tokens;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Lock counts and leaf-only eviction, under every policy. */
class PrefixIndexPinningTest {
    static final String MODEL = "m";

    final List<Integer> released = new ArrayList<>();

    PrefixIndex index(PolicyKind kind) {
        return new PrefixIndex(4, EvictionPolicies.create(kind, 64, 4), released::add);
    }

    static void insert(PrefixIndex index, int[] tokens, int... blocks) {
        index.insert(index.match(MODEL, tokens), tokens, tokens.length, blocks);
    }

    @ParameterizedTest
    @EnumSource(value = PolicyKind.class, names = "OPTIMAL", mode = EnumSource.Mode.EXCLUDE)
    void pinnedBlocksAreNeverEvicted(PolicyKind kind) {
        PrefixIndex index = index(kind);
        insert(index, tokens(0, 8), 0, 1);
        insert(index, tokens(100, 8), 2, 3);
        PrefixMatch match = index.match(MODEL, tokens(0, 8));
        index.pin(match);
        assertEquals(2, index.pinnedBlocks());
        assertEquals(1, index.evictableBlocks(), "only the other prompt's leaf");
        assertEquals(2, index.evict(10));
        assertEquals(List.of(3, 2), released, "the unpinned prompt goes tail first");
        assertTrue(index.isCached(0) && index.isCached(1));
        index.checkInvariants();
        index.unpin(match);
        assertEquals(2, index.evict(10));
        assertEquals(List.of(3, 2, 1, 0), released);
        assertEquals(0, index.cachedBlocks());
        index.checkInvariants();
    }

    @ParameterizedTest
    @EnumSource(value = PolicyKind.class, names = "OPTIMAL", mode = EnumSource.Mode.EXCLUDE)
    void onlyLeavesAreEvictedSoAPrefixKeepsItsBeginning(PolicyKind kind) {
        PrefixIndex index = index(kind);
        insert(index, tokens(0, 12), 0, 1, 2);
        int[] branch = tokens(0, 12);
        branch[9] = 77;
        insert(index, branch, 0, 1, 3);
        assertEquals(2, index.evictableBlocks(), "blocks 2 and 3 are the leaves");
        index.evict(1);
        assertTrue(index.isCached(0) && index.isCached(1));
        index.evict(1);
        assertEquals(1, index.evictableBlocks(), "block 1 became a leaf when its last child went");
        index.evict(1);
        assertTrue(index.isCached(0));
        assertFalse(index.isCached(1));
        index.checkInvariants();
    }

    @ParameterizedTest
    @EnumSource(value = PolicyKind.class, names = "OPTIMAL", mode = EnumSource.Mode.EXCLUDE)
    void locksCountEveryRequestOnTheWholePath(PolicyKind kind) {
        PrefixIndex index = index(kind);
        insert(index, tokens(0, 12), 0, 1, 2);
        PrefixMatch shortMatch = index.match(MODEL, tokens(0, 4));
        PrefixMatch longMatch = index.match(MODEL, tokens(0, 12));
        index.pin(shortMatch);
        index.pin(longMatch);
        assertEquals(3, index.pinnedBlocks());
        index.checkInvariants();
        index.unpin(longMatch);
        assertEquals(1, index.pinnedBlocks());
        assertEquals(2, index.evict(5), "blocks 2 and 1 go; block 0 is still pinned");
        assertFalse(index.isCached(1));
        index.unpin(shortMatch);
        assertEquals(1, index.evict(5));
        index.checkInvariants();
    }

    @ParameterizedTest
    @EnumSource(value = PolicyKind.class, names = "OPTIMAL", mode = EnumSource.Mode.EXCLUDE)
    void misusedMatchesFailLoudly(PolicyKind kind) {
        PrefixIndex index = index(kind);
        insert(index, tokens(0, 8), 0, 1);
        PrefixMatch match = index.match(MODEL, tokens(0, 8));
        assertThrows(IllegalStateException.class, () -> index.unpin(match));
        index.evict(2);
        assertThrows(IllegalStateException.class, () -> index.pin(match), "its blocks were evicted");
        PrefixMatch fresh = index.match(MODEL, tokens(0, 8));
        index.pin(fresh);
        assertThrows(IllegalStateException.class, () -> index.pin(fresh));
        assertThrows(IllegalArgumentException.class, () -> index(kind).pin(fresh));
        index.unpin(fresh);
        index.checkInvariants();
    }
}
