package dev.ultrakv;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The benchmark guide's four configurations (Baseline 4096 tokens, Compressed 0.3, Quantized 8 bits, Large 16384
 * tokens) serve requests through the engine API, with stats that add up and capacities that follow the codec.
 */
class EngineConfigurationsTest {
    private static final int NEW_TOKENS = 8;
    private static final List<String> PROMPTS = List.of("Once upon a time, there was a little dog named Max.",
            "Lily went to the park with her mom. She saw a big red ball and",
            "The sun was hot, so Tom and Sue went to the lake to swim. They");

    private static Map<String, KVCacheConfig> guideConfigurations() {
        Map<String, KVCacheConfig> configs = new LinkedHashMap<>();
        configs.put("Baseline", KVCacheConfig.builder().maxTokens(4096).build());
        configs.put("Compressed", KVCacheConfig.builder().maxTokens(4096).useCompression(true)
                .compressionRatio(0.3).build());
        configs.put("Quantized", KVCacheConfig.builder().maxTokens(4096).useQuantization(true)
                .quantizationBits(8).build());
        configs.put("Large", KVCacheConfig.builder().maxTokens(16384).build());
        return configs;
    }

    @Test
    void theGuidesConfigurationsServeRequestsWithConsistentStats() {
        Map<String, EngineStats> stats = new LinkedHashMap<>();
        for (var entry : guideConfigurations().entrySet()) {
            try (var engine = new UltraAdaptiveKVCacheEngine(entry.getValue())) {
                List<Request> requests = new ArrayList<>();
                for (int round = 0; round < 2; round++) {
                    for (String prompt : PROMPTS) {
                        requests.add(Request.builder().text(prompt).maxNewTokens(NEW_TOKENS).build());
                    }
                }
                List<RequestResult> results = new ArrayList<>();
                for (Request r : requests) {
                    results.add(engine.processRequest(r).join());
                }
                for (int i = 0; i < PROMPTS.size(); i++) {
                    RequestResult first = results.get(i);
                    RequestResult repeat = results.get(i + PROMPTS.size());
                    assertFalse(first.cacheHit(), entry.getKey());
                    assertTrue(repeat.cacheHit(), entry.getKey() + ": a repeated prompt is a hit");
                    assertEquals(first.text(), repeat.text(), entry.getKey() + ": greedy output repeats");
                    assertTrue(first.generatedTokens() > 0);
                }
                EngineStats s = engine.getStats();
                assertEquals(requests.size(), s.totalRequests(), entry.getKey());
                assertEquals(PROMPTS.size(), s.cacheHits(), entry.getKey());
                assertEquals(PROMPTS.size(), s.cacheMisses(), entry.getKey());
                assertEquals(0, s.failedRequests());
                assertEquals(s.totalRequests(), s.cacheHits() + s.cacheMisses());
                assertTrue(s.kvBytesInUse() > 0 && s.kvBytesInUse() <= s.kvBytesCapacity(), entry.getKey());
                assertTrue(s.latencyP50().compareTo(s.latencyP99()) <= 0);
                stats.put(entry.getKey(), s);
            }
        }
        long baseline = stats.get("Baseline").kvBytesCapacity();
        assertEquals(baseline, stats.get("Compressed").kvBytesCapacity(), "compression keeps the pool's size");
        double quantized = (double) stats.get("Quantized").kvBytesCapacity() / baseline;
        // stories260K's heads have 8 channels: an int8 slot is 8 codes and a float16 scale, 10 bytes against 32.
        assertEquals(10.0 / 32, quantized, 0.01,
                "an int8 pool of the same tokens takes " + quantized + " of the bytes");
        assertEquals(4 * baseline, stats.get("Large").kvBytesCapacity());
    }
}
