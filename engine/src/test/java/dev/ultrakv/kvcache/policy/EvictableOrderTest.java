package dev.ultrakv.kvcache.policy;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.SplittableRandom;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link EvictableOrder} against a {@link TreeSet} of the same order, under seeded random operations. */
class EvictableOrderTest {
    private static final Comparator<BlockEntry> BY_FREQUENCY_THEN_ORDER =
            Comparator.<BlockEntry>comparingInt(e -> e.frequency).thenComparingLong(e -> e.order);

    @Test
    void everyOperationKeepsTheLeastEntryFirstAsATreeSetWould() {
        for (long seed = 1; seed <= 20; seed++) {
            SplittableRandom random = new SplittableRandom(seed);
            EvictableOrder order = new EvictableOrder(BY_FREQUENCY_THEN_ORDER);
            TreeSet<BlockEntry> reference = new TreeSet<>(BY_FREQUENCY_THEN_ORDER);
            List<BlockEntry> entries = new ArrayList<>();
            long tick = 0;
            for (int i = 0; i < 300; i++) {
                BlockEntry entry = new EvictionOrderTest.Entry("e" + i, i, 0);
                entry.order = ++tick;
                entry.frequency = random.nextInt(4);
                entries.add(entry);
            }
            for (int step = 0; step < 5_000; step++) {
                BlockEntry entry = entries.get(random.nextInt(entries.size()));
                switch (random.nextInt(5)) {
                    case 0, 1 -> {
                        if (!entry.evictable) {
                            order.add(entry);
                            reference.add(entry);
                        }
                    }
                    case 2 -> {
                        order.forget(entry);
                        reference.remove(entry);
                    }
                    case 3 -> {
                        // A reference: the sort key changes while the entry is out of the order.
                        boolean queued = order.unlink(entry);
                        assertEquals(queued, reference.remove(entry));
                        entry.order = ++tick;
                        entry.frequency++;
                        order.relink(entry, queued);
                        if (queued) {
                            reference.add(entry);
                        }
                    }
                    default -> {
                        if (random.nextInt(50) == 0) {
                            // Ageing: every count halves at once.
                            List<BlockEntry> queued = new ArrayList<>(reference);
                            reference.clear();
                            order.reorderAll(() -> entries.forEach(e -> e.frequency /= 2));
                            reference.addAll(queued);
                        }
                    }
                }
                assertEquals(reference.size(), order.size(), "seed " + seed + ", step " + step);
                assertSame(reference.isEmpty() ? null : reference.first(), order.first(),
                        "seed " + seed + ", step " + step);
            }
            order.checkEach(e -> true, "seed " + seed);
            // Draining it gives the reference's order exactly.
            while (!reference.isEmpty()) {
                BlockEntry first = order.first();
                assertSame(reference.pollFirst(), first);
                order.remove(first);
                assertFalse(first.evictable);
            }
            assertNull(order.first());
        }
    }

    @Test
    void anEntryNotInTheOrderIsNotTakenOut() {
        EvictableOrder order = new EvictableOrder(Comparator.comparingLong(e -> e.order));
        BlockEntry in = new EvictionOrderTest.Entry("in", 1, 0);
        BlockEntry out = new EvictionOrderTest.Entry("out", 2, 0);
        in.order = 1;
        out.order = 2;
        order.add(in);
        assertFalse(order.unlink(out));
        order.forget(out);
        assertEquals(1, order.size());
        assertTrue(order.unlink(in));
        assertFalse(order.unlink(in), "taken out once");
        assertEquals(0, order.size());
    }
}
