package dev.ultrakv.kvcache.policy;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The order in which each policy gives up evictable leaves, on small hand-made cases. */
class EvictionOrderTest {

    static final class Entry extends BlockEntry {
        final String name;

        Entry(String name, long key, int depth) {
            super(key, depth);
            this.name = name;
        }

        @Override
        public String toString() {
            return name;
        }
    }

    static Entry leaf(EvictionPolicy policy, String name) {
        var entry = new Entry(name, name.hashCode(), 0);
        policy.onInsert(entry, true);
        policy.onEvictable(entry);
        return entry;
    }

    static List<String> drain(EvictionPolicy policy) {
        List<String> order = new ArrayList<>();
        for (BlockEntry victim; (victim = policy.selectVictim()) != null; ) {
            policy.onRemove(victim);
            order.add(victim.toString());
        }
        return order;
    }

    static void access(EvictionPolicy policy, BlockEntry entry, int times) {
        for (int i = 0; i < times; i++) {
            policy.onAccess(entry);
        }
    }

    @Test
    void lruEvictsTheLeastRecentlyUsedFirst() {
        var lru = new LruPolicy();
        var a = leaf(lru, "a");
        leaf(lru, "b");
        leaf(lru, "c");
        access(lru, a, 1);
        assertEquals(List.of("b", "c", "a"), drain(lru));
    }

    @Test
    void pinnedOrInnerEntriesAreSkippedUntilEvictableAgain() {
        var lru = new LruPolicy();
        var a = leaf(lru, "a");
        leaf(lru, "b");
        lru.onUnevictable(a);
        assertEquals(List.of("b"), drain(lru));
        assertNull(lru.selectVictim());
        lru.onEvictable(a);
        assertSame(a, lru.selectVictim());
        lru.checkInvariants(1, 1);
    }

    @Test
    void lfuEvictsTheLeastFrequentlyUsedFirstThenTheOldest() {
        var lfu = new LfuPolicy(1_000);
        var a = leaf(lfu, "a");
        var b = leaf(lfu, "b");
        var c = leaf(lfu, "c");
        leaf(lfu, "d");
        access(lfu, a, 3);
        access(lfu, c, 1);
        access(lfu, b, 1);
        assertEquals(List.of("d", "c", "b", "a"), drain(lfu));
    }

    @Test
    void lfuAgeingLetsOldPopularityFade() {
        var lfu = new LfuPolicy(8); // halve every 8 references
        var old = leaf(lfu, "old");           // reference 1
        access(lfu, old, 5);                  // 2-6: old = 6
        var recent = leaf(lfu, "recent");     // 7
        access(lfu, recent, 1);               // 8: halving, old = 3, recent = 1
        access(lfu, recent, 3);               // 9-11: recent = 4
        assertEquals(3, lfu.frequency(old));
        assertEquals(4, lfu.frequency(recent));
        assertEquals(List.of("old", "recent"), drain(lfu), "without ageing old (6) would outlast recent (5)");
    }

    @Test
    void adaptiveRefusesAScanBlockThatLruWouldKeep() {
        var adaptive = new AdaptivePolicy(100, 16);
        var lru = new LruPolicy();
        var hot = leaf(adaptive, "hot");
        var hotInLru = leaf(lru, "hot");
        access(adaptive, hot, 4);
        access(lru, hotInLru, 4);
        for (int i = 0; i < 3; i++) {
            leaf(adaptive, "scan" + i);
            leaf(lru, "scan" + i);
        }
        assertEquals("hot", lru.selectVictim().toString(), "LRU lets the scan flush the hot block");
        assertEquals("scan0", adaptive.selectVictim().toString(), "ADAPTIVE frees the one-off block first");
        assertEquals(List.of("scan0", "scan1", "scan2", "hot"), drain(adaptive),
                "every one-off block goes before the reused one, the newest too (no admission window)");
    }

    @Test
    void adaptiveRemembersABlockThatComesBack() {
        var adaptive = new AdaptivePolicy(100, 16);
        var first = leaf(adaptive, "prompt");
        access(adaptive, first, 2);
        adaptive.onRemove(first);
        var again = leaf(adaptive, "prompt");
        var fresh = leaf(adaptive, "fresh");
        assertEquals(4, adaptive.frequency(again), "its sketch history: three uses before, one now");
        assertEquals(1, adaptive.frequency(fresh));
        assertEquals("fresh", adaptive.selectVictim().toString());
    }

    @Test
    void adaptiveCountsOnlyRequestedBlocksAsMisses() {
        var adaptive = new AdaptivePolicy(100, 16);
        var generated = new Entry("generated", 7, 3);
        adaptive.onInsert(generated, false);
        adaptive.onRemove(generated);
        adaptive.onInsert(generated, false);
        assertEquals(0, adaptive.estimatedFrequency(generated));
        assertEquals(1, adaptive.frequency(generated));
    }

    @Test
    void adaptiveFollowsRecencyWhenRecentBlocksAreTheOnesReused() {
        var adaptive = new AdaptivePolicy(4, 16);
        List<Entry> popular = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            popular.add(leaf(adaptive, "popular" + i));
            access(adaptive, popular.get(i), 6);
        }
        assertTrue(!adaptive.recencyLeads(), "before the shadows disagree the frequency order leads");
        // Then a conversation-like stream of one-block prompts: each is sent again two prompts later, then never
        // again. A 4-block LRU keeps it that long; a 4-block LFU keeps the three popular blocks and loses it.
        List<Entry> stream = new ArrayList<>();
        for (int i = 0; i < 30; i++) {
            stream.add(leaf(adaptive, "turn" + i));
            adaptive.onPromptEnd(stream.get(i));
            if (i >= 2) {
                access(adaptive, stream.get(i - 2), 1);
                adaptive.onPromptEnd(stream.get(i - 2));
            }
        }
        assertTrue(adaptive.recencyLeads(), "the recency shadow hits more blocks on this stream");
        assertEquals("popular0", adaptive.selectVictim().toString(), "so the least recently used block goes");
        assertEquals(1, adaptive.decisions()[0]);
    }

    @Test
    void recomputationCostGrowsWithTheContextBeforeABlock() {
        var adaptive = new AdaptivePolicy(100, 512);
        assertEquals(1.0, adaptive.recomputationCost(new Entry("first", 1, 0)), 1e-12);
        assertEquals(1.0 + 16 * 512.0 / AdaptivePolicy.COST_SCALE_TOKENS,
                adaptive.recomputationCost(new Entry("deep", 2, 16)), 1e-12);
    }
}
