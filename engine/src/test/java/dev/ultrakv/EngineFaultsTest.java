package dev.ultrakv;

import dev.ultrakv.core.StepProbe;
import dev.ultrakv.kvcache.compress.CompressionMethod;
import dev.ultrakv.model.synthetic.SyntheticShape;
import dev.ultrakv.scheduler.SchedulerConfig;
import dev.ultrakv.scheduler.Ticker;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The supervised step loop: a fault fails the requests it must and the engine serves on with the same outputs; a
 * fault that leaves it unusable moves it to FAILED with the cause, reported by every later call. The reproducers
 * of issue 10 (shared/repro) are here too.
 */
@ExtendWith(QuietEngineLog.class)
class EngineFaultsTest {
    private static final Duration DEADLINE = Duration.ofMinutes(2);
    /** Random weights: greedy generations run their full length. */
    private static final ModelSource MODEL = ModelSource.synthetic(SyntheticShape.TEST_TINY, 11);
    private static final String PROMPT = "Once upon a time";

    private static Request request(String text, String id, int newTokens) {
        return Request.builder().text(text).id(id).maxNewTokens(newTokens).build();
    }

    private static Throwable failure(CompletableFuture<?> future) {
        return assertThrows(CompletionException.class, future::join).getCause();
    }

    /** The greedy text of {@link #PROMPT} from a fresh engine that never faulted. */
    private static String referenceText(KVCacheConfig config) {
        try (var engine = new UltraAdaptiveKVCacheEngine(config)) {
            return engine.processRequest(request(PROMPT, "reference", 12)).join().text();
        }
    }

    private static void assertServesAsBefore(UltraAdaptiveKVCacheEngine engine, String expected) {
        assertEquals(expected, engine.processRequest(request(PROMPT, "after", 12)).join().text());
        engine.onLoop(cache -> {
            cache.checkInvariants();
            assertEquals(0, cache.liveSequences());
            assertEquals(0, cache.pinnedBlocks());
        }).join();
        EngineStats stats = engine.getStats();
        assertEquals(EngineState.RUNNING, stats.state());
        assertNull(stats.failure());
        assertEquals(stats.submittedRequests(), stats.endedRequests(), stats.toString());
    }

    /** shared/repro/ReproCompressionLoopDeath: every method, the sizes that killed the loop every time. */
    @Test
    void compressionWithACacheThatRunsDryUnderConcurrencyServesEveryRequest() {
        assertTimeoutPreemptively(DEADLINE, () -> {
            for (CompressionMethod method : CompressionMethod.values()) {
                for (int[] size : new int[][] {{128, 16}, {64, 8}}) {
                    KVCacheConfig config = KVCacheConfig.builder().maxTokens(size[0]).useCompression(true)
                            .compressionMethod(method).compressionRatio(0.5).build();
                    try (var engine = new UltraAdaptiveKVCacheEngine(config)) {
                        List<CompletableFuture<RequestResult>> futures = new ArrayList<>();
                        for (int i = 0; i < size[1]; i++) {
                            futures.add(engine.processRequest(
                                    request("Lily and Ben went to the park " + i, "r" + i, 32)));
                        }
                        futures.forEach(CompletableFuture::join);
                        engine.processRequest(Request.of(PROMPT, 1)).join();
                        EngineStats stats = engine.getStats();
                        assertEquals(size[1] + 1, stats.totalRequests(), method + " " + size[0]);
                        assertEquals(0, stats.failedRequests(), method + " " + size[0]);
                    }
                }
            }
        });
    }

    @Test
    void anErrorInAForwardPassWithNoCulpritFailsThatStepsBatchAndTheEngineServesOn() {
        assertTimeoutPreemptively(DEADLINE, () -> {
            KVCacheConfig config = KVCacheConfig.builder().model(MODEL).maxTokens(2048).build();
            String expected = referenceText(config);
            AtomicBoolean armed = new AtomicBoolean();
            StepProbe probe = (step, ids) -> {
                if (ids.size() > 1 && armed.compareAndSet(true, false)) {
                    throw new AssertionError("injected kernel fault in step " + step);
                }
            };
            try (var engine = new UltraAdaptiveKVCacheEngine(config, SchedulerConfig.defaults(), Ticker.system(),
                    probe)) {
                CountDownLatch resume = pauseLoop(engine);
                List<CompletableFuture<RequestResult>> batch = new ArrayList<>();
                for (int i = 0; i < 4; i++) {
                    batch.add(engine.processRequest(request(PROMPT + " " + i, "b" + i, 8)));
                }
                armed.set(true);
                resume.countDown();
                for (CompletableFuture<RequestResult> f : batch) {
                    Throwable e = failure(f);
                    assertInstanceOf(IllegalStateException.class, e);
                    assertInstanceOf(AssertionError.class, e.getCause());
                    assertTrue(e.getMessage().contains("forward pass"), e.getMessage());
                }
                assertEquals(4, engine.getStats().failedRequests());
                assertServesAsBefore(engine, expected);
            }
        });
    }

    /**
     * The others of the batch run their rows again, alone to find the culprit and then in the next step, and
     * generate what they generate without the fault: with compression by attention too (the attention of a pass
     * that is run again is not counted twice).
     */
    @Test
    void aRequestWhoseRowsFailAloneIsTheOnlyOneToFail() {
        for (KVCacheConfig config : List.of(KVCacheConfig.builder().model(MODEL).maxTokens(2048).build(),
                KVCacheConfig.builder().model(MODEL).maxTokens(2048).useQuantization(true).quantizationBits(8)
                        .useCompression(true).compressionMethod(CompressionMethod.H2O).compressionRatio(0.4)
                        .build())) {
            poisonedRequestFailsAlone(config);
        }
    }

    private static void poisonedRequestFailsAlone(KVCacheConfig config) {
        assertTimeoutPreemptively(DEADLINE, () -> {
            String expected = referenceText(config);
            StepProbe probe = (step, ids) -> {
                if (ids.contains("poison")) {
                    throw new IllegalStateException("a codec refused the K/V of the poisoned request");
                }
            };
            try (var engine = new UltraAdaptiveKVCacheEngine(config, SchedulerConfig.defaults(), Ticker.system(),
                    probe)) {
                CountDownLatch resume = pauseLoop(engine);
                List<CompletableFuture<RequestResult>> healthy = new ArrayList<>();
                for (int i = 0; i < 3; i++) {
                    healthy.add(engine.processRequest(request(PROMPT, "h" + i, 12)));
                }
                CompletableFuture<RequestResult> poisoned = engine.processRequest(request("The cat", "poison", 12));
                resume.countDown();
                assertTrue(failure(poisoned).getMessage().contains("poisoned request"));
                for (CompletableFuture<RequestResult> f : healthy) {
                    assertEquals(expected, f.join().text(), "the others run their rows again, unchanged: " + config);
                }
                assertEquals(1, engine.getStats().failedRequests());
                assertServesAsBefore(engine, expected);
            }
        });
    }

    @Test
    void runningOutOfHeapInAStepFailsOnlyThatStep() {
        assertTimeoutPreemptively(DEADLINE, () -> {
            KVCacheConfig config = KVCacheConfig.builder().model(MODEL).maxTokens(2048).build();
            String expected = referenceText(config);
            AtomicInteger steps = new AtomicInteger();
            StepProbe probe = (step, ids) -> {
                if (steps.incrementAndGet() == 3) {
                    throw new OutOfMemoryError("Java heap space (injected)");
                }
            };
            try (var engine = new UltraAdaptiveKVCacheEngine(config, SchedulerConfig.defaults(), Ticker.system(),
                    probe)) {
                Throwable e = failure(engine.processRequest(request(PROMPT, "first", 12)));
                assertInstanceOf(OutOfMemoryError.class, e.getCause());
                assertServesAsBefore(engine, expected);
            }
        });
    }

    @Test
    void aVirtualMachineErrorFailsTheEngineWithItsCauseReportedEverywhere() {
        assertTimeoutPreemptively(DEADLINE, () -> {
            StepProbe probe = (step, ids) -> {
                throw new InternalError("a fault occurred in an unsafe memory access operation (injected)");
            };
            var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().model(MODEL).build(),
                    SchedulerConfig.defaults(), Ticker.system(), probe);
            Throwable first = failure(engine.processRequest(request(PROMPT, "first", 4)));
            assertTrue(first.getMessage().startsWith("engine failed: InternalError: a fault occurred"),
                    first.getMessage());
            assertInstanceOf(InternalError.class, first.getCause());
            EngineStats stats = engine.getStats();
            assertEquals(EngineState.FAILED, stats.state());
            assertTrue(stats.failure().contains("unsafe memory access"), stats.failure());
            Throwable later = failure(engine.processRequest(request(PROMPT, "later", 4)));
            assertEquals(first.getMessage(), later.getMessage());
            assertTrue(failure(engine.processBatchOptimized(List.of(Request.of(PROMPT, 1)), 2)).getMessage()
                    .startsWith("engine failed"));
            engine.close();
            assertEquals(EngineState.FAILED, engine.getStats().state(), "closing keeps the cause");
            assertEquals(3, engine.getStats().failedRequests());
            assertEquals(3, engine.getStats().submittedRequests());
        });
    }

    @Test
    void aLoopFaultOutsideTheStepFailsTheRunningRequestsThenServesOn() {
        assertTimeoutPreemptively(DEADLINE, () -> {
            KVCacheConfig config = KVCacheConfig.builder().model(MODEL).maxTokens(2048).build();
            String expected = referenceText(config);
            FaultyTicker ticker = new FaultyTicker();
            // Armed from inside the loop at the request's third step, so the fault finds it running however fast
            // it would otherwise finish (arming from this thread raced a 128-token context on a busy machine).
            AtomicInteger stepsRun = new AtomicInteger();
            StepProbe armAtThirdStep = (step, ids) -> {
                if (ids.contains("running") && stepsRun.incrementAndGet() == 3) {
                    ticker.faults.set(1);
                }
            };
            try (var engine = new UltraAdaptiveKVCacheEngine(config, SchedulerConfig.defaults(), ticker,
                    armAtThirdStep)) {
                CompletableFuture<RequestResult> running = engine.processRequest(request(PROMPT, "running", 400));
                Throwable e = failure(running);
                assertTrue(e.getMessage().contains("step loop faulted"), e.getMessage());
                assertServesAsBefore(engine, expected);
            }
        });
    }

    @Test
    void loopFaultsThatRepeatFailTheEngine() {
        assertTimeoutPreemptively(DEADLINE, () -> {
            FaultyTicker ticker = new FaultyTicker();
            var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().model(MODEL).build(),
                    SchedulerConfig.defaults(), ticker);
            ticker.faults.set(Integer.MAX_VALUE);
            Throwable e = failure(engine.processRequest(request(PROMPT, "r", 4)));
            assertTrue(e.getMessage().contains("clock fault"), e.getMessage());
            while (engine.getStats().state() != EngineState.FAILED) {
                Thread.onSpinWait();   // the third fault in a row follows at once
            }
            assertTrue(engine.getStats().failure().contains("clock fault"));
            engine.close();
        });
    }

    /** shared/repro/ReproSmall, 1: a listener throwing an Error stops its request, which fails with it. */
    @Test
    void aListenerThrowingAnErrorStopsItsRequest() {
        assertTimeoutPreemptively(DEADLINE, () -> {
            try (var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().build())) {
                String expected = engine.processRequest(request(PROMPT, "reference", 12)).join().text();
                CompletableFuture<RequestResult> f = engine.processRequest(request("Hello", "h", 4), token -> {
                    throw new AssertionError("listener failed");
                });
                assertInstanceOf(AssertionError.class, failure(f));
                assertServesAsBefore(engine, expected);
            }
        });
    }

    @Test
    void closeAbandonsAListenerThatNeverReturnsAndFailsWhatIsPending() {
        assertTimeoutPreemptively(DEADLINE, () -> {
            var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().build());
            engine.closeGrace(Duration.ofMillis(200));
            CountDownLatch stuck = new CountDownLatch(1);
            CompletableFuture<RequestResult> f = engine.processRequest(request(PROMPT, "stuck", 8), token -> {
                stuck.countDown();
                while (true) {
                    try {
                        Thread.sleep(Long.MAX_VALUE);
                    } catch (InterruptedException e) {
                        // Ignores interruption, as badly written listeners do.
                    }
                }
            });
            assertTrue(stuck.await(30, TimeUnit.SECONDS));
            long start = System.nanoTime();
            engine.close();
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(20), "close is bounded");
            assertTrue(failure(f).getMessage().contains("abandoned"));
            EngineStats stats = engine.getStats();
            assertEquals(stats.submittedRequests(), stats.endedRequests());
        });
    }

    /** shared/repro/ReproSmall, 2: a batch size larger than any batch is a batch of everything. */
    @Test
    void aBatchSizeBeyondTheBatchIsServed() {
        try (var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().build())) {
            List<RequestResult> results = engine.processBatchOptimized(
                    List.of(Request.of(PROMPT, 1), Request.of("The sun", 2)), Integer.MAX_VALUE).join();
            assertEquals(2, results.size());
        }
    }

    /** shared/repro/ReproSmall, 3: configurations that cannot run fail at build(), naming the field. */
    @Test
    void configurationsTooLargeForTheMachineFailAtBuild() {
        var blockSize = assertThrows(IllegalArgumentException.class,
                () -> KVCacheConfig.builder().blockSize(1 << 30).build());
        assertTrue(blockSize.getMessage().startsWith("blockSize must be at most"), blockSize.getMessage());
        var maxTokens = assertThrows(IllegalArgumentException.class,
                () -> KVCacheConfig.builder().maxTokens(Integer.MAX_VALUE).build());
        assertTrue(maxTokens.getMessage().startsWith("maxTokens 2147483647 needs a KV cache of"),
                maxTokens.getMessage());
        var bytes = assertThrows(IllegalArgumentException.class,
                () -> KVCacheConfig.builder().maxMemoryBytes(Long.MAX_VALUE).build());
        assertTrue(bytes.getMessage().startsWith("maxMemoryBytes " + Long.MAX_VALUE), bytes.getMessage());
    }

    /** Blocks the step loop until the returned latch is counted down, so that requests queue up together. */
    private static CountDownLatch pauseLoop(UltraAdaptiveKVCacheEngine engine) throws InterruptedException {
        CountDownLatch paused = new CountDownLatch(1);
        CountDownLatch resume = new CountDownLatch(1);
        engine.onLoop(cache -> {
            paused.countDown();
            try {
                resume.await(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertTrue(paused.await(30, TimeUnit.SECONDS));
        return resume;
    }

    /** The system clock, which throws on the step loop while faults are left to throw. */
    private static final class FaultyTicker implements Ticker {
        final AtomicInteger faults = new AtomicInteger();

        @Override
        public long read() {
            if (Thread.currentThread().getName().equals("ultrakv-step-loop")
                    && faults.getAndUpdate(n -> n == Integer.MAX_VALUE ? n : Math.max(0, n - 1)) > 0) {
                throw new IllegalStateException("clock fault (injected)");
            }
            return System.nanoTime();
        }
    }
}
