package dev.ultrakv;

import dev.ultrakv.model.synthetic.SyntheticShape;
import dev.ultrakv.scheduler.SchedulerConfig;
import dev.ultrakv.scheduler.Ticker;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Streaming, cancellation, deadlines and the bounded queue: what a caller controls while requests run. A stopped
 * request frees its KV blocks before the next step; the engine serves on.
 */
class EngineControlTest {
    /** Random weights: greedy generations run their length instead of meeting the end-of-sequence token. */
    private static final ModelSource MODEL = ModelSource.synthetic(SyntheticShape.TEST_SMALL, 5);
    private static final Duration DEADLINE = Duration.ofMinutes(1);
    /** Long enough that a request is still running when the test acts on it. */
    private static final int LONG = 200;

    private static KVCacheConfig config() {
        return KVCacheConfig.builder().model(MODEL).maxTokens(4096).build();
    }

    private static Request request(String text, int newTokens) {
        return Request.builder().text(text).maxNewTokens(newTokens).build();
    }

    private static void await(CountDownLatch latch) {
        try {
            assertTrue(latch.await(30, TimeUnit.SECONDS), "timed out waiting");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError(e);
        }
    }

    /** Blocks the step loop until the returned latch is counted down. */
    private static CountDownLatch pauseLoop(UltraAdaptiveKVCacheEngine engine) {
        CountDownLatch paused = new CountDownLatch(1);
        CountDownLatch resume = new CountDownLatch(1);
        engine.onLoop(cache -> {
            paused.countDown();
            await(resume);
        });
        await(paused);
        return resume;
    }

    private static void assertNothingHeld(UltraAdaptiveKVCacheEngine engine) {
        engine.onLoop(cache -> {
            cache.checkInvariants();
            assertEquals(0, cache.liveSequences());
            assertEquals(0, cache.pinnedBlocks());
        }).join();
    }

    @Test
    void streamedTokensAreTheResultsTokensInOrderAndTheirTextsJoinToItsText() {
        try (var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().build())) {
            List<GeneratedToken> tokens = Collections.synchronizedList(new ArrayList<>());
            RequestResult r = engine.processRequest(Request.builder().text("Once upon a time").maxNewTokens(60)
                    .id("story").build(), tokens::add).join();
            assertEquals(r.generatedTokens(), tokens.size(), "every token arrives before the result");
            StringBuilder text = new StringBuilder();
            for (int i = 0; i < tokens.size(); i++) {
                assertEquals("story", tokens.get(i).requestId());
                assertEquals(i, tokens.get(i).index());
                assertEquals(r.generatedTokenIds()[i], tokens.get(i).tokenId());
                text.append(tokens.get(i).text());
            }
            assertEquals(r.text(), text.toString());
        }
    }


    @Test
    void cancellingARunningOrWaitingRequestFreesItsBlocksBeforeTheNextStep() {
        SchedulerConfig oneAtATime = SchedulerConfig.builder().maxRunningSequences(1).build();
        assertTimeoutPreemptively(DEADLINE, () -> {
            try (var engine = new UltraAdaptiveKVCacheEngine(config(), oneAtATime)) {
                CountDownLatch started = new CountDownLatch(1);
                CompletableFuture<RequestResult> running = engine.processRequest(request("cancel me", LONG),
                        token -> started.countDown());
                CompletableFuture<RequestResult> waiting = engine.processRequest(request("and me too", LONG));
                await(started);
                CountDownLatch resume = pauseLoop(engine);
                assertTrue(running.cancel(true));
                assertTrue(waiting.cancel(true));
                resume.countDown();
                engine.onScheduler(scheduler -> {
                    assertEquals(0, scheduler.runningCount());
                    assertEquals(0, scheduler.waitingCount());
                }).join();
                assertNothingHeld(engine);
                assertThrows(CancellationException.class, running::join);
                assertEquals(2, engine.getStats().cancelledRequests());
                assertEquals(0, engine.getStats().failedRequests());
                assertTrue(engine.processRequest(request("next", 3)).join().generatedTokens() > 0);
            }
        });
    }

    @Test
    void cancellingABatchCancelsItsRequests() {
        SchedulerConfig oneAtATime = SchedulerConfig.builder().maxRunningSequences(1).build();
        try (var engine = new UltraAdaptiveKVCacheEngine(config(), oneAtATime)) {
            CountDownLatch resume = pauseLoop(engine);
            var batch = engine.processBatchOptimized(List.of(request("one", LONG), request("two", LONG)), 1);
            assertTrue(batch.cancel(true));
            resume.countDown();
            assertNothingHeld(engine);
            assertEquals(2, engine.getStats().cancelledRequests());
        }
    }

    /** A ticker that moves on by {@code stepNanos} at every reading: deadlines pass after a few steps. */
    private static Ticker stepping(long stepNanos) {
        AtomicLong now = new AtomicLong();
        return () -> now.addAndGet(stepNanos);
    }

    @Test
    void aRequestPastItsDeadlineFailsWithATimeoutAndFreesItsBlocksRunningOrWaiting() {
        long millisecond = Duration.ofMillis(1).toNanos();
        SchedulerConfig oneAtATime = SchedulerConfig.builder().maxRunningSequences(1).build();
        assertTimeoutPreemptively(DEADLINE, () -> {
            try (var engine = new UltraAdaptiveKVCacheEngine(config(), oneAtATime, stepping(millisecond))) {
                AtomicInteger streamed = new AtomicInteger();
                CompletableFuture<RequestResult> running = engine.processRequest(Request.builder()
                        .text("too slow").maxNewTokens(LONG).timeout(Duration.ofMillis(40)).build(),
                        token -> streamed.incrementAndGet());
                CompletableFuture<RequestResult> waiting = engine.processRequest(Request.builder()
                        .text("waits too long").maxNewTokens(LONG).timeout(Duration.ofMillis(20)).build());
                for (CompletableFuture<RequestResult> f : List.of(running, waiting)) {
                    var e = assertThrows(CompletionException.class, f::join);
                    assertInstanceOf(TimeoutException.class, e.getCause());
                    assertTrue(e.getCause().getMessage().contains("passed its deadline of PT0.0"),
                            e.getCause().getMessage());
                }
                assertTrue(streamed.get() > 0 && streamed.get() < LONG, "it ran, then stopped: " + streamed);
                assertNothingHeld(engine);
                assertEquals(2, engine.getStats().expiredRequests());
            }
        });
    }

    @Test
    void aFullQueueRejectsTheNextRequestWithAClearErrorAndServesTheOthers() {
        SchedulerConfig twoWaiting = SchedulerConfig.builder().maxQueuedRequests(2).build();
        try (var engine = new UltraAdaptiveKVCacheEngine(config(), twoWaiting)) {
            CountDownLatch resume = pauseLoop(engine);
            var first = engine.processRequest(request("first", 3));
            var second = engine.processRequest(request("second", 3));
            var e = assertThrows(CompletionException.class, engine.processRequest(request("third", 3))::join);
            assertInstanceOf(RejectedExecutionException.class, e.getCause());
            assertTrue(e.getCause().getMessage().startsWith("the queue is full: 2 requests wait for admission"),
                    e.getCause().getMessage());
            resume.countDown();
            first.join();
            second.join();
            engine.processRequest(request("fourth", 3)).join();
            assertEquals(1, engine.getStats().rejectedRequests());
            assertEquals(3, engine.getStats().totalRequests());
        }
    }

    @Test
    void aListenerThatThrowsStopsItsOwnRequestOnly() {
        try (var engine = new UltraAdaptiveKVCacheEngine(config())) {
            IllegalStateException boom = new IllegalStateException("listener failed");
            var failing = engine.processRequest(request("listener throws", LONG), token -> {
                if (token.index() == 1) {
                    throw boom;
                }
            });
            var fine = engine.processRequest(request("listener fine", 30), token -> { });
            var e = assertThrows(CompletionException.class, failing::join);
            assertEquals(boom, e.getCause());
            assertEquals(30, fine.join().generatedTokens());
            assertNothingHeld(engine);
            assertEquals(1, engine.getStats().failedRequests());
        }
    }
}
