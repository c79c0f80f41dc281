package dev.ultrakv;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Closing stops the loop, fails what waits and what comes later, and is safe to repeat. */
class EngineCloseTest {
    private static final Duration DEADLINE = Duration.ofMinutes(1);

    private static void assertClosedFailure(CompletableFuture<?> future) {
        var e = assertThrows(CompletionException.class, future::join);
        assertInstanceOf(IllegalStateException.class, e.getCause());
        assertEquals("engine closed", e.getCause().getMessage());
    }

    @Test
    void closeFailsWaitingRequestsAndLaterSubmissions() {
        assertTimeoutPreemptively(DEADLINE, () -> {
            var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().build());
            CountDownLatch busy = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            engine.onLoop(cache -> {
                busy.countDown();
                try {
                    release.await(30, TimeUnit.SECONDS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            });
            assertTrue(busy.await(30, TimeUnit.SECONDS));
            List<CompletableFuture<RequestResult>> waiting = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                waiting.add(engine.processRequest(Request.of("Once upon a time", i % 5)));
            }
            Thread closer = Thread.ofPlatform().start(engine::close);
            while (closer.getState() != Thread.State.WAITING && closer.isAlive()) {
                Thread.onSpinWait();
            }
            release.countDown();
            closer.join();
            waiting.forEach(EngineCloseTest::assertClosedFailure);
            assertClosedFailure(engine.processRequest(Request.of("Hello", 2)));
            assertClosedFailure(engine.processBatchOptimized(List.of(Request.of("Hello", 2)), 4));
            assertEquals(0, engine.getStats().totalRequests());
            engine.close();
        });
    }

    @Test
    void closeFromAFuturesActionOnTheLoopDoesNotDeadlock() {
        assertTimeoutPreemptively(DEADLINE, () -> {
            var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().build());
            RequestResult r = engine.processRequest(Request.of("Hi", 2)).thenApply(result -> {
                engine.close();
                return result;
            }).join();
            assertTrue(r.generatedTokens() >= 0);
            assertClosedFailure(engine.processRequest(Request.of("Hi", 2)));
            engine.close();
        });
    }
}
