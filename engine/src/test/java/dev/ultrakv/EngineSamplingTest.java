package dev.ultrakv;

import dev.ultrakv.model.StopReason;
import dev.ultrakv.sampling.TokenLogprob;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.concurrent.CompletionException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The OpenAI API's request fields, through the engine: sampling settings, stop strings, log-probabilities. */
class EngineSamplingTest {
    private static final String PROMPT = "Once upon a time";

    private static Request.Builder request() {
        return Request.builder().text(PROMPT).maxNewTokens(40);
    }

    @Test
    void settingsThatLeaveOnlyTheMostLikelyTokenSampleAsGreedy() {
        try (var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().build())) {
            String greedy = engine.processRequest(request().build()).join().text();
            assertEquals(greedy, engine.processRequest(request().temperature(1.5f).topK(1).seed(3).build())
                    .join().text());
            assertEquals(greedy, engine.processRequest(request().temperature(1.5f).minP(1f).seed(3).build())
                    .join().text());
            assertNotEquals(greedy, engine.processRequest(request().temperature(1.5f).seed(3).build()).join()
                    .text(), "a hot unrestricted draw wanders");
        }
    }

    @Test
    void ignoringEosGeneratesThroughTheEndOfTheStory() {
        try (var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().build())) {
            RequestResult story = engine.processRequest(request().maxNewTokens(400).build()).join();
            assertEquals(StopReason.END_OF_SEQUENCE, story.stopReason(), "the premise: the story ends by itself");
            RequestResult longer = engine.processRequest(request().maxNewTokens(400).ignoreEos(true).build()).join();
            assertEquals(StopReason.MAX_TOKENS, longer.stopReason());
            assertEquals(400, longer.generatedTokens());
            assertTrue(longer.text().startsWith(story.text()), "the same tokens up to where the story ended");
            assertTrue(longer.text().length() > story.text().length());
        }
    }

    @Test
    void aFrequencyPenaltyRepeatsFewerTokens() {
        try (var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().build())) {
            RequestResult plain = engine.processRequest(request().maxNewTokens(120).build()).join();
            RequestResult penalized = engine.processRequest(request().maxNewTokens(120).frequencyPenalty(2f)
                    .presencePenalty(1f).build()).join();
            assertTrue(distinct(penalized) > distinct(plain),
                    distinct(penalized) + " distinct tokens against " + distinct(plain));
        }
    }

    private static int distinct(RequestResult r) {
        HashSet<Integer> ids = new HashSet<>();
        for (int id : r.generatedTokenIds()) {
            ids.add(id);
        }
        return ids.size();
    }

    @Test
    void aStopStringEndsTheTextBeforeItAndIsNeverStreamed() {
        try (var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().build())) {
            String full = engine.processRequest(request().build()).join().text();
            int cut = full.indexOf(' ', full.length() / 2);
            String stop = full.substring(cut, cut + 4);
            List<String> streamed = Collections.synchronizedList(new ArrayList<>());
            RequestResult r = engine.processRequest(request().stop(List.of("never appears", stop)).build(),
                    token -> streamed.add(token.text())).join();
            assertEquals(StopReason.STOP_STRING, r.stopReason());
            assertEquals(full.substring(0, full.indexOf(stop)), r.text());
            assertEquals(r.text(), String.join("", streamed));
        }
    }

    @Test
    void logprobsOfAGreedyTokenAreTheTopAlternativeAndSumBelowOne() {
        try (var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().build())) {
            List<GeneratedToken> streamed = Collections.synchronizedList(new ArrayList<>());
            RequestResult r = engine.processRequest(request().maxNewTokens(10).logprobs(5).build(), streamed::add)
                    .join();
            assertEquals(r.generatedTokens(), r.logprobs().size());
            for (int i = 0; i < r.logprobs().size(); i++) {
                TokenLogprob lp = r.logprobs().get(i);
                assertEquals(r.generatedTokenIds()[i], lp.tokenId());
                assertEquals(5, lp.top().size());
                assertEquals(lp.tokenId(), lp.top().getFirst().tokenId(), "greedy picks the most likely");
                assertEquals(lp.logprob(), lp.top().getFirst().logprob());
                double mass = 0;
                for (int a = 0; a < lp.top().size(); a++) {
                    assertTrue(lp.top().get(a).logprob() <= 0);
                    assertTrue(a == 0 || lp.top().get(a).logprob() <= lp.top().get(a - 1).logprob());
                    mass += Math.exp(lp.top().get(a).logprob());
                }
                assertTrue(mass <= 1.0001, "probabilities of distinct tokens: " + mass);
                assertEquals(lp, streamed.get(i).logprob());
            }
            assertTrue(engine.processRequest(request().build()).join().logprobs().isEmpty());
            assertNull(streamedOf(engine).logprob());
        }
    }

    private static GeneratedToken streamedOf(UltraAdaptiveKVCacheEngine engine) {
        List<GeneratedToken> tokens = Collections.synchronizedList(new ArrayList<>());
        engine.processRequest(request().maxNewTokens(1).build(), tokens::add).join();
        return tokens.getFirst();
    }

    @Test
    void badSettingsFailTheRequestNamingThem() {
        try (var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().build())) {
            assertRefused(engine, request().minP(1.5f), "min-p must be in [0, 1]");
            assertRefused(engine, request().frequencyPenalty(3f), "frequency penalty must be in [-2, 2]");
            assertRefused(engine, request().presencePenalty(Float.NaN), "presence penalty");
            assertRefused(engine, request().topK(-1), "top-k");
            assertRefused(engine, request().topP(2f), "top-p");
            assertRefused(engine, request().logprobs(21), "logprobs must be -1 (none) or 0 to 20");
            assertRefused(engine, request().stop(List.of("ok", "")), "stop string 1 must have 1 to 256");
            assertRefused(engine, request().stop(Collections.nCopies(17, "x")), "at most 16 stop strings");
        }
    }

    private static void assertRefused(UltraAdaptiveKVCacheEngine engine, Request.Builder b, String message) {
        var e = assertThrows(CompletionException.class, () -> engine.processRequest(b.build()).join());
        assertTrue(e.getCause() instanceof IllegalArgumentException && e.getCause().getMessage().contains(message),
                e.getCause().toString());
    }

    @Test
    void statsReportTimeToFirstTokenAndTimePerOutputToken() {
        try (var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().build())) {
            engine.processRequest(request().build()).join();
            EngineStats.Latency latency = engine.getStats().latency();
            assertTrue(latency.timeToFirstToken().p50().toNanos() > 0);
            assertTrue(latency.timePerOutputToken().p50().toNanos() > 0);
            assertTrue(latency.endToEnd().p50().compareTo(latency.timeToFirstToken().p50()) >= 0);
            assertEquals(40, engine.getStats().cache().generatedTokens());
        }
    }
}
