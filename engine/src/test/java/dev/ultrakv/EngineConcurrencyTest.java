package dev.ultrakv;

import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Many threads submitting at once get what one thread gets alone: every future completes, with the output of a
 * sequential run, the counters add up and the cache's books balance afterwards.
 */
class EngineConcurrencyTest {
    private static final int THREADS = 16;
    private static final int REQUESTS_PER_THREAD = 200;
    /** Generous: the whole run takes seconds; this only turns a deadlock into a failure. */
    private static final Duration DEADLINE = Duration.ofMinutes(3);
    /** Texts sharing prefixes of different lengths, so requests hit whole and in part. */
    private static final List<String> TEXTS = List.of("Once upon a time", "Once upon a time, there was",
            "Once upon a time, there was a dog", "Once upon a time, there was a cat", "The sun", "The sun was hot",
            "Lily and Tom", "Lily and Tom went to the park");
    private static final int NEW_TOKENS = 3;

    private static Request request(int thread, int i) {
        return Request.builder().text(TEXTS.get((thread * 7 + i) % TEXTS.size())).priority((thread + i) % 5)
                .maxNewTokens(NEW_TOKENS).id(thread + "/" + i).build();
    }

    @Test
    void sixteenThreadsGetTheOutputsOfASequentialRunAndTheBooksBalance() {
        KVCacheConfig config = KVCacheConfig.builder().maxTokens(1024).blockSize(8).build();
        Map<String, int[]> expected = new HashMap<>();
        try (var engine = new UltraAdaptiveKVCacheEngine(config)) {
            for (String text : TEXTS) {
                expected.put(text, engine.processRequest(Request.builder().text(text).maxNewTokens(NEW_TOKENS)
                        .build()).join().generatedTokenIds());
            }
        }
        assertTimeoutPreemptively(DEADLINE, () -> {
            try (var engine = new UltraAdaptiveKVCacheEngine(config);
                 ExecutorService pool = Executors.newFixedThreadPool(THREADS)) {
                List<Future<List<CompletableFuture<RequestResult>>>> submitted = new ArrayList<>();
                for (int t = 0; t < THREADS; t++) {
                    int thread = t;
                    submitted.add(pool.submit(() -> {
                        List<CompletableFuture<RequestResult>> futures = new ArrayList<>();
                        for (int i = 0; i < REQUESTS_PER_THREAD; i++) {
                            futures.add(engine.processRequest(request(thread, i)));
                        }
                        return futures;
                    }));
                }
                for (int t = 0; t < THREADS; t++) {
                    List<CompletableFuture<RequestResult>> futures = submitted.get(t).get();
                    for (int i = 0; i < REQUESTS_PER_THREAD; i++) {
                        RequestResult r = futures.get(i).join();
                        assertEquals(t + "/" + i, r.id());
                        String text = request(t, i).text();
                        assertArrayEquals(expected.get(text), r.generatedTokenIds(), text);
                    }
                }
                EngineStats stats = engine.getStats();
                assertEquals(THREADS * REQUESTS_PER_THREAD, stats.totalRequests());
                assertEquals(stats.totalRequests(), stats.cacheHits() + stats.cacheMisses());
                assertEquals(0, stats.failedRequests());
                assertTrue(stats.cacheHits() > 0);
                engine.onLoop(cache -> {
                    cache.checkInvariants();
                    assertEquals(0, cache.pinnedBlocks());
                    assertEquals(0, cache.liveSequences());
                    assertEquals(cache.cachedBlocks(), cache.usedBlocks());
                }).join();
            }
        });
    }
}
