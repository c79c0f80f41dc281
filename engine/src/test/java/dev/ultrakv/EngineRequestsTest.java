package dev.ultrakv;

import dev.ultrakv.model.Generation;
import dev.ultrakv.model.StopReason;
import dev.ultrakv.model.TextGenerator;
import dev.ultrakv.model.synthetic.SyntheticShape;
import dev.ultrakv.sampling.Sampler;
import org.HdrHistogram.Histogram;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Requests through the public API: text, cache hits, conversation turns, priorities, batches and statistics. */
class EngineRequestsTest {
    private static final String STORY = "Once upon a time, there was a little girl named Lily.";

    private static UltraAdaptiveKVCacheEngine engine() {
        return new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().build());
    }

    @Test
    void aRequestGeneratesTextAndARepeatIsACacheHitWithTheSameText() {
        try (var engine = engine()) {
            RequestResult first = engine.processRequest(Request.of(STORY, 1)).join();
            assertFalse(first.cacheHit());
            assertEquals(0, first.cachedPromptTokens());
            assertTrue(first.generatedTokens() == Request.DEFAULT_MAX_NEW_TOKENS
                    ? first.stopReason() == StopReason.MAX_TOKENS
                    : first.stopReason() == StopReason.END_OF_SEQUENCE, first.toString());
            assertFalse(first.text().isEmpty());
            assertTrue(first.id().startsWith("request-"));
            assertTrue(first.timeToFirstToken().compareTo(first.latency()) <= 0);

            RequestResult again = engine.processRequest(Request.builder().text(STORY).id("again").build()).join();
            assertEquals("again", again.id());
            assertTrue(again.cacheHit());
            assertEquals(again.promptTokens(), again.cachedPromptTokens());
            assertEquals(first.text(), again.text());
            assertArrayEquals(first.generatedTokenIds(), again.generatedTokenIds());

            EngineStats stats = engine.getStats();
            assertEquals(2, stats.totalRequests());
            assertEquals(1, stats.cacheHits());
            assertEquals(1, stats.cacheMisses());
            assertEquals(0.5, stats.hitRate());
            assertEquals(0.5, stats.tokenHitRate());
            assertTrue(stats.blocksUsed() > 0);
            assertEquals(stats.blocksUsed() * (stats.kvBytesCapacity() / (stats.blocksUsed() + stats.blocksFree())),
                    stats.kvBytesInUse());
            assertTrue(stats.latencyP50().compareTo(stats.latencyP99()) <= 0);
            assertFalse(stats.latencyP99().isZero());
        }
    }

    @Test
    void aSampledRequestWithASeedGivesTheSameTextAgainFromTheCache() {
        try (var engine = engine()) {
            Request sampled = Request.builder().text(STORY).temperature(0.9f).seed(7).maxNewTokens(20).build();
            RequestResult first = engine.processRequest(sampled).join();
            RequestResult again = engine.processRequest(sampled).join();
            assertTrue(again.cacheHit());
            assertEquals(first.text(), again.text());
            RequestResult greedy = engine.processRequest(Request.builder().text(STORY).maxNewTokens(20).build())
                    .join();
            assertNotEquals(greedy.text(), first.text(), "sampling at 0.9 chooses other tokens than greedy");
        }
    }

    @Test
    void theEngineGeneratesWhatTheSingleSequenceGeneratorDoes() {
        try (var model = ModelSource.embedded().load(); var engine = engine()) {
            int[] prompt = model.tokenizer().encode(STORY, true);
            Generation expected = new TextGenerator(model).generate(prompt, 40,
                    Sampler.greedy(model.config().vocabularySize()), null);
            RequestResult r = engine.processRequest(Request.builder().text(STORY).maxNewTokens(40).build()).join();
            assertArrayEquals(expected.generatedTokens(), r.generatedTokenIds());
            assertEquals(expected.stopReason().name(), r.stopReason().name());
            assertEquals(prompt.length, r.promptTokens());
        }
    }

    @Test
    void aRepeatedPromptShorterThanOneBlockIsAHit() {
        try (var engine = engine()) {
            RequestResult first = engine.processRequest(Request.of("Hi", 2)).join();
            assertTrue(first.promptTokens() < KVCacheConfig.DEFAULT_BLOCK_SIZE);
            assertTrue(engine.processRequest(Request.of("Hi", 2)).join().cacheHit());
        }
    }

    @Test
    void theNextTurnOfAConversationReusesAtLeastThePreviousPrompt() {
        try (var engine = engine()) {
            RequestResult turn1 = engine.processRequest(Request.of(STORY, 2)).join();
            String next = STORY + turn1.text() + " Then she went home.";
            RequestResult turn2 = engine.processRequest(Request.of(next, 2)).join();
            assertFalse(turn2.cacheHit());
            assertTrue(turn2.cachedPromptTokens() >= turn1.promptTokens(),
                    turn2.cachedPromptTokens() + " cached of " + turn1.promptTokens());
        }
    }

    @Test
    void cachedRunsGiveTheTextOfAnEngineWithAnEmptyCache() {
        var config = KVCacheConfig.builder().model(ModelSource.synthetic(SyntheticShape.TEST_SMALL, 5)).build();
        List<String> texts = List.of("alpha beta gamma delta", "alpha beta gamma", "alpha beta gamma delta",
                "alpha beta epsilon", "alpha");
        List<RequestResult> warm = new ArrayList<>();
        try (var engine = new UltraAdaptiveKVCacheEngine(config)) {
            for (String text : texts) {
                warm.add(engine.processRequest(Request.of(text, 2)).join());
            }
            assertTrue(warm.get(2).cacheHit());
        }
        for (int i = 0; i < texts.size(); i++) {
            try (var engine = new UltraAdaptiveKVCacheEngine(config)) {
                RequestResult cold = engine.processRequest(Request.of(texts.get(i), 2)).join();
                assertEquals(0, cold.cachedPromptTokens());
                assertArrayEquals(cold.generatedTokenIds(), warm.get(i).generatedTokenIds(), texts.get(i));
                assertEquals(cold.text(), warm.get(i).text());
            }
        }
    }

    @Test
    void waitingRequestsAreServedByPriorityThenInSubmissionOrder() throws InterruptedException {
        try (var engine = engine()) {
            CountDownLatch blocked = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            engine.onLoop(cache -> {
                blocked.countDown();
                awaitQuietly(release);
            });
            assertTrue(blocked.await(30, TimeUnit.SECONDS));
            List<String> order = java.util.Collections.synchronizedList(new ArrayList<>());
            List<CompletableFuture<RequestResult>> futures = new ArrayList<>();
            int[] priorities = {4, 2, 0, 2, 1, 3, 0};
            for (int i = 0; i < priorities.length; i++) {
                futures.add(engine.processRequest(Request.builder().text("Tom").priority(priorities[i])
                        .maxNewTokens(1).id(priorities[i] + "/" + i).build())
                        .whenComplete((r, e) -> order.add(r.id())));
            }
            release.countDown();
            futures.forEach(CompletableFuture::join);
            assertEquals(List.of("0/2", "0/6", "1/4", "2/1", "2/3", "3/5", "4/0"), order);
        }
    }

    private static void awaitQuietly(CountDownLatch latch) {
        try {
            latch.await(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Test
    void aBatchReturnsResultsInTheOrderGivenAndReusesSharedPrefixes() {
        try (var engine = engine()) {
            List<Request> requests = new ArrayList<>();
            for (int i = 0; i < 12; i++) {
                requests.add(Request.builder().text((i % 2 == 0 ? STORY : "The cat sat") + " " + (i % 3))
                        .maxNewTokens(4).id("r" + i).build());
            }
            List<RequestResult> results = engine.processBatchOptimized(requests, 5).join();
            assertEquals(requests.size(), results.size());
            for (int i = 0; i < requests.size(); i++) {
                assertEquals("r" + i, results.get(i).id());
            }
            EngineStats stats = engine.getStats();
            assertEquals(12, stats.totalRequests());
            assertEquals(6, stats.cacheHits(), "each of the 6 distinct texts misses once, then hits");
            assertNotEquals(0, stats.cachedPromptTokens());
            engine.onLoop(cache -> cache.checkInvariants()).join();
        }
    }

    @Test
    void percentilesAreWithinATenthOfAPercentOfTheRecordedLatencies() {
        Histogram histogram = new Histogram(3);
        for (int i = 1; i <= 100; i++) {
            histogram.recordValue(i * 1_000_000L);       // 1 ms .. 100 ms
        }
        assertEquals(50e6, UltraAdaptiveKVCacheEngine.percentile(histogram, 50).toNanos(), 50e6 * 1e-3);
        assertEquals(95e6, UltraAdaptiveKVCacheEngine.percentile(histogram, 95).toNanos(), 95e6 * 1e-3);
        assertEquals(99e6, UltraAdaptiveKVCacheEngine.percentile(histogram, 99).toNanos(), 99e6 * 1e-3);
        Histogram one = new Histogram(3);
        one.recordValue(7);
        assertEquals(7, UltraAdaptiveKVCacheEngine.percentile(one, 99).toNanos());
        assertTrue(UltraAdaptiveKVCacheEngine.percentile(new Histogram(3), 50).isZero());
    }
}
