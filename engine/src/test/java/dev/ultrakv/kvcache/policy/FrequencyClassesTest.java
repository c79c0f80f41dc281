package dev.ultrakv.kvcache.policy;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** ADAPTIVE's frequency order kept as one list per count. */
class FrequencyClassesTest {

    private long tick;

    private EvictionOrderTest.Entry entry(FrequencyClasses classes, String name, int count) {
        var entry = new EvictionOrderTest.Entry(name, name.hashCode(), 0);
        entry.order = ++tick;
        classes.setCount(entry, count);
        return entry;
    }

    private static void list(FrequencyClasses classes, BlockEntry entry) {
        entry.evictable = true;
        classes.add(entry);
    }

    private static List<String> drain(FrequencyClasses classes) {
        List<String> order = new ArrayList<>();
        for (BlockEntry first; (first = classes.first()) != null; ) {
            classes.remove(first);
            first.evictable = false;
            order.add(first.toString());
        }
        return order;
    }

    @Test
    void lowestCountFirstThenOldest() {
        var classes = new FrequencyClasses();
        list(classes, entry(classes, "a3", 3));
        list(classes, entry(classes, "b1", 1));
        list(classes, entry(classes, "c2", 2));
        list(classes, entry(classes, "d1", 1));
        classes.checkLinks("test");
        assertEquals(List.of("b1", "d1", "c2", "a3"), drain(classes));
        assertNull(classes.first());
        assertEquals(0, classes.size());
    }

    @Test
    void countsSaturate() {
        var classes = new FrequencyClasses();
        var hot = entry(classes, "hot", 1_000);
        assertEquals(FrequencyClasses.MAX_COUNT, classes.count(hot));
        classes.setCount(hot, -5);
        assertEquals(0, classes.count(hot));
    }

    @Test
    void anEntryOlderThanItsWholeClassRejoinsAtTheOldestEnd() {
        var classes = new FrequencyClasses();
        var parent = entry(classes, "parent", 2);
        list(classes, entry(classes, "x", 2));
        list(classes, entry(classes, "y", 2));
        list(classes, parent); // became a leaf again, its last use older than every other entry of count 2
        assertEquals(List.of("parent", "x", "y"), drain(classes));
    }

    @Test
    void halvingMergesNeighbouringCountsByAgeAndReachesUnlistedEntriesLazily() {
        var classes = new FrequencyClasses();
        var a = entry(classes, "a", 2);
        var d = entry(classes, "d", 2);
        var c = entry(classes, "c", 2);
        var b = entry(classes, "b", 3);
        var pinned = entry(classes, "pinned", 12);
        list(classes, a);
        list(classes, c);
        list(classes, d); // between a and c in age: joins the newest end, out of age order in its class
        list(classes, b);
        classes.halve();
        classes.checkLinks("test");
        assertEquals(1, classes.count(a));
        assertEquals(1, classes.count(b));
        assertEquals(6, classes.count(pinned), "an entry not listed is halved when next seen");
        classes.halve();
        classes.halve();
        assertEquals(0, classes.count(a));
        assertEquals(1, classes.count(pinned));
        // Merged by age with b (count 3, the youngest), each class keeping its own order.
        assertEquals(List.of("a", "c", "d", "b"), drain(classes));
    }

    /**
     * Seeded random operations against a model of the counts: the first entry always has the lowest count listed,
     * is the oldest of that count while entries joined in age order, and the links stay consistent.
     */
    @Test
    void randomOperationsKeepTheLowestCountFirst() {
        for (long seed = 1; seed <= 20; seed++) {
            var random = new SplittableRandom(seed);
            var classes = new FrequencyClasses();
            Map<BlockEntry, Integer> counts = new HashMap<>();
            List<BlockEntry> listed = new ArrayList<>();
            List<BlockEntry> unlisted = new ArrayList<>();
            for (int op = 0; op < 2_000; op++) {
                int kind = random.nextInt(10);
                if (kind < 3 || listed.size() + unlisted.size() < 4) {
                    var e = entry(classes, "e" + op, random.nextInt(1, 20));
                    counts.put(e, classes.count(e));
                    unlisted.add(e);
                } else if (kind < 5 && !unlisted.isEmpty()) {
                    var e = unlisted.remove(random.nextInt(unlisted.size()));
                    list(classes, e);
                    listed.add(e);
                } else if (kind < 7 && !listed.isEmpty()) {
                    var e = listed.get(random.nextInt(listed.size()));
                    classes.remove(e); // an access: out, one more use and a new tick, back in
                    e.order = ++tick;
                    classes.setCount(e, classes.count(e) + 1);
                    counts.put(e, Math.min(FrequencyClasses.MAX_COUNT, counts.get(e) + 1));
                    classes.add(e);
                } else if (kind < 8 && !listed.isEmpty()) {
                    var e = listed.remove(random.nextInt(listed.size()));
                    classes.remove(e);
                    e.evictable = false;
                    unlisted.add(e);
                } else if (kind < 9) {
                    classes.halve();
                    counts.replaceAll((e, count) -> count >>> 1);
                } else if (!listed.isEmpty()) {
                    BlockEntry first = classes.first();
                    int lowest = listed.stream().mapToInt(counts::get).min().orElseThrow();
                    assertEquals(lowest, counts.get(first), "seed " + seed + ": the first entry's count");
                    assertTrue(listed.contains(first));
                }
                for (var e : counts.keySet()) {
                    assertEquals(counts.get(e), classes.count(e), "seed " + seed + ": count of " + e);
                }
                classes.checkLinks("seed " + seed);
                assertEquals(listed.size(), classes.size());
            }
        }
    }

    @Test
    void anAccessMovesAnEntryToTheNewestEndOfItsNewCount() {
        var classes = new FrequencyClasses();
        var a = entry(classes, "a", 1);
        var b = entry(classes, "b", 2);
        list(classes, a);
        list(classes, b);
        classes.remove(a);
        a.order = ++tick;
        classes.setCount(a, classes.count(a) + 1);
        classes.add(a);
        assertSame(b, classes.first());
        assertEquals(List.of("b", "a"), drain(classes));
    }
}
