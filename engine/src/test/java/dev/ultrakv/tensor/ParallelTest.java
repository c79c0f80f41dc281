package dev.ultrakv.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.util.concurrent.atomic.AtomicIntegerArray;

import org.junit.jupiter.api.Test;

class ParallelTest {

    @Test
    void forRange_runsEveryIterationExactlyOnce() {
        for (int count : new int[] {0, 1, 2, 3, 17, 1000}) {
            for (int grain : new int[] {0, 1, 4, 5000}) {
                AtomicIntegerArray seen = new AtomicIntegerArray(Math.max(1, count));
                Parallel.forRange(count, grain, (from, to) -> {
                    for (int i = from; i < to; i++) {
                        seen.incrementAndGet(i);
                    }
                });
                for (int i = 0; i < count; i++) {
                    assertEquals(1, seen.get(i), "count=" + count + " grain=" + grain + " i=" + i);
                }
            }
        }
    }

    @Test
    void forRange_smallerThanTheGrain_runsOnTheCaller() {
        Thread caller = Thread.currentThread();
        Parallel.forRange(10, 10, (from, to) -> assertSame(caller, Thread.currentThread()));
        assertEquals(1, Parallel.chunks(10, 10));
        assertEquals(Math.min(Parallel.threads() * Parallel.CHUNKS_PER_THREAD, 4), Parallel.chunks(40, 10));
        assertEquals(Parallel.threads() * Parallel.CHUNKS_PER_THREAD, Parallel.chunks(1 << 20, 1));
    }

    @Test
    void isShareable_onlyForSegmentsOtherThreadsMayRead() {
        try (Arena confined = Arena.ofConfined(); Arena shared = Arena.ofShared()) {
            assertFalse(Parallel.isShareable(confined.allocate(8)));
            assertTrue(Parallel.isShareable(shared.allocate(8)));
            assertTrue(Parallel.isShareable(Arena.global().allocate(8)));
        }
    }

    @Test
    void forRange_rethrowsAChunksException() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Parallel.forRange(100, 1, (from, to) -> {
                    if (to == 100) {
                        throw new IllegalStateException("last chunk");
                    }
                }));
        // The pool rethrows a worker's exception as a copy of the same type (with the caller's stack).
        assertTrue(e.getMessage().contains("last chunk"), e.getMessage());
    }

    @Test
    void setThreads_refusesBadCountsAndAChangeOnceThePoolRuns() {
        int running = Parallel.threads();
        Parallel.setThreads(running);
        IllegalStateException changed = assertThrows(IllegalStateException.class,
                () -> Parallel.setThreads(running + 1));
        assertTrue(changed.getMessage().contains("already run with " + running), changed.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Parallel.setThreads(0));
        assertThrows(IllegalArgumentException.class, () -> Parallel.setThreads(Parallel.MAX_THREADS + 1));
    }
}
