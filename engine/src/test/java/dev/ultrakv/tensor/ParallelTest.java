package dev.ultrakv.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.lang.foreign.Arena;
import java.util.List;
import java.util.Random;
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
        assertTrue(e.getMessage().contains("last chunk"), e.getMessage());
        // The helpers are not left waiting on the failed loop: the next one runs in full.
        AtomicIntegerArray seen = new AtomicIntegerArray(100);
        Parallel.forRange(100, 1, (from, to) -> {
            for (int i = from; i < to; i++) {
                seen.incrementAndGet(i);
            }
        });
        for (int i = 0; i < 100; i++) {
            assertEquals(1, seen.get(i));
        }
    }

    @Test
    void forRange_everyChunksExceptionIsKept_theFirstThrownWithTheOthersSuppressed() {
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> Parallel.forRange(1 << 10, 1, (from, to) -> {
                    throw new IllegalStateException("chunk at " + from);
                }));
        assertEquals(Parallel.chunks(1 << 10, 1), 1 + e.getSuppressed().length);
    }

    @Test
    void callersOnSeveralThreadsAtOnce_eachGetEveryIterationExactlyOnce() throws Exception {
        // A second caller meets helpers busy with the first's loop and goes to the fallback pool; both must be whole.
        int callers = 4;
        Thread[] threads = new Thread[callers];
        Throwable[] failures = new Throwable[callers];
        for (int c = 0; c < callers; c++) {
            int caller = c;
            threads[c] = Thread.ofPlatform().start(() -> {
                Random random = new Random(42 + caller);
                try {
                    for (int round = 0; round < 300; round++) {
                        int count = random.nextInt(2000);
                        AtomicIntegerArray seen = new AtomicIntegerArray(Math.max(1, count));
                        Parallel.forRange(count, 1 + random.nextInt(8), (from, to) -> {
                            for (int i = from; i < to; i++) {
                                seen.incrementAndGet(i);
                            }
                        });
                        for (int i = 0; i < count; i++) {
                            assertEquals(1, seen.get(i), "caller " + caller + " round " + round + " i " + i);
                        }
                    }
                } catch (Throwable t) {
                    failures[caller] = t;
                }
            });
        }
        for (int c = 0; c < callers; c++) {
            threads[c].join();
            if (failures[c] != null) {
                throw new AssertionError("caller " + c, failures[c]);
            }
        }
    }

    @Test
    void aLoopStartedInsideAChunk_runsWhole_inlineOnAHelper() {
        // Inside a helper's chunk it runs on that helper; inside the caller's, the helpers are taken (by the outer
        // loop) and it goes to the fallback pool. Either way nothing waits for a thread it occupies.
        AtomicIntegerArray seen = new AtomicIntegerArray(64 * 64);
        Parallel.forRange(64, 1, (from, to) -> {
            for (int row = from; row < to; row++) {
                int r = row;
                Thread chunkThread = Thread.currentThread();
                boolean onHelper = chunkThread.getName().matches("ultrakv-kernel-\\d+");
                Parallel.forRange(64, 1, (f, t) -> {
                    assertTrue(!onHelper || chunkThread == Thread.currentThread());
                    for (int i = f; i < t; i++) {
                        seen.incrementAndGet(r * 64 + i);
                    }
                });
            }
        });
        for (int i = 0; i < 64 * 64; i++) {
            assertEquals(1, seen.get(i));
        }
    }

    @Test
    void idleHelpers_park() throws InterruptedException {
        assumeTrue(Parallel.threads() > 1, "one thread: no helpers");
        Parallel.forRange(1000, 1, (from, to) -> { });
        // They spin for SPIN_NANOS after a loop, then park; give them ample time to get there on a busy machine.
        long deadline = System.nanoTime() + 10_000_000_000L;
        List<Thread> helpers;
        do {
            Thread.sleep(10);
            helpers = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.getName().matches("ultrakv-kernel-\\d+")).toList();
        } while (System.nanoTime() < deadline
                && !helpers.stream().allMatch(t -> t.getState() == Thread.State.WAITING));
        assertEquals(Parallel.threads() - 1, helpers.size(), helpers.toString());
        for (Thread helper : helpers) {
            assertEquals(Thread.State.WAITING, helper.getState(), helper.getName());
        }
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
