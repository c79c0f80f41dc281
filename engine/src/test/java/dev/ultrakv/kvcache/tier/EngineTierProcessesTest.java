package dev.ultrakv.kvcache.tier;

import dev.ultrakv.KVCacheConfig;
import dev.ultrakv.RequestResult;
import dev.ultrakv.UltraAdaptiveKVCacheEngine;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Issue 14's acceptance across processes, with real tiers: an engine in another JVM computes a prompt into a disk
 * directory or a Redis, and an engine here that never saw it is served from the tier (cached tokens, the same
 * output); an engine whose Redis stops mid-run completes every request.
 */
class EngineTierProcessesTest {
    private static final int BLOCK = KVCacheConfig.DEFAULT_BLOCK_SIZE;
    private static final String PROMPT = "once upon a time there was a little girl named lily who loved to play in"
            + " the park with her big red ball and her friend tom the dog who ran fast in the sun every day";

    @TempDir
    Path directory;

    /** Runs {@link TierEnginePeer} in a JVM of its own; its printed line. */
    private static String peer(String kind, String where, String prompt) throws Exception {
        String output = TierTestBlocks.runJvm(Duration.ofSeconds(120), TierEnginePeer.class, kind, where, prompt);
        return output.lines().filter(line -> line.startsWith("cached=")).findFirst()
                .orElseThrow(() -> new AssertionError("the peer printed no result:\n" + output));
    }

    private static int fullBlocks(RequestResult result) {
        return result.promptTokens() / BLOCK * BLOCK;
    }

    @Test
    void anEngineStartedAfterAnotherProcessWroteTheDiskDirectoryIsServedFromIt() throws Exception {
        Path disk = directory.resolve("kv");
        String computed = peer("disk", disk.toString(), PROMPT);
        assertTrue(computed.startsWith("cached=0 "), computed);
        try (UltraAdaptiveKVCacheEngine engine = TierEnginePeer.engine(TierEnginePeer.tier("disk", disk.toString()))) {
            RequestResult served = engine.processRequest(TierEnginePeer.request(PROMPT)).join();
            assertTrue(served.promptTokens() >= 3 * BLOCK, "the prompt spans blocks: " + served);
            assertEquals(fullBlocks(served), served.cachedPromptTokens(), "every full block came from disk");
            assertEquals(computed.replaceFirst("cached=0", "cached=" + served.cachedPromptTokens()),
                    TierEnginePeer.describe(served), "the same tokens as the engine that computed the prompt");
            assertEquals(fullBlocks(served) / BLOCK, engine.getStats().tiers().promotedBlocks());
        }
    }

    @Test
    void anEngineInAnotherJvmIsServedFromRedisWhatOnlyThisOneComputed() throws Exception {
        try (RedisServerProcess redis = RedisServerProcess.start(directory)) {
            RequestResult computed;
            try (UltraAdaptiveKVCacheEngine engine = TierEnginePeer.engine(TierEnginePeer.tier("redis", redis.uri()))) {
                computed = engine.processRequest(TierEnginePeer.request(PROMPT)).join();
                assertEquals(0, computed.cachedPromptTokens());
            }
            String served = peer("redis", redis.uri(), PROMPT);
            assertEquals("cached=" + fullBlocks(computed) + " "
                    + TierEnginePeer.describe(computed).substring("cached=0 ".length()), served);
        }
    }

    @Test
    void redisStoppedMidRunLeavesEveryRequestCompleted() throws Exception {
        try (RedisServerProcess redis = RedisServerProcess.start(directory)) {
            List<String> prompts = new ArrayList<>();
            for (int i = 0; i < 18; i++) {
                prompts.add(PROMPT + " and on day " + i + " they went home");
            }
            List<RequestResult> expected = new ArrayList<>();
            try (UltraAdaptiveKVCacheEngine plain = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder()
                    .model(TierEnginePeer.MODEL).maxTokens(2048).build())) {
                for (String prompt : prompts) {
                    expected.add(plain.processRequest(TierEnginePeer.request(prompt)).join());
                }
            }
            try (UltraAdaptiveKVCacheEngine engine = TierEnginePeer.engine(RedisKvTier.connect(redis.uri(),
                    RedisTierOptions.defaults().withCommandTimeout(Duration.ofMillis(300))))) {
                // Six prompts with Redis up, six while it is down (each asks it for blocks and offers it its own),
                // six after it is back: every request completes with the output of an engine without tiers.
                for (int phase = 0; phase < 3; phase++) {
                    if (phase == 1) {
                        redis.stop();
                    } else if (phase == 2) {
                        redis.start();
                    }
                    List<CompletableFuture<RequestResult>> results = new ArrayList<>();
                    for (int i = 6 * phase; i < 6 * phase + 6; i++) {
                        results.add(engine.processRequest(TierEnginePeer.request(prompts.get(i))));
                    }
                    for (int i = 0; i < results.size(); i++) {
                        RequestResult result = results.get(i).get(2, TimeUnit.MINUTES);
                        assertArrayEquals(expected.get(6 * phase + i).generatedTokenIds(), result.generatedTokenIds(),
                                "phase " + phase + ", request " + i);
                    }
                    if (phase == 1) {
                        TierStats tier = engine.getStats().tiers().tiers().getFirst();
                        assertTrue(tier.errors() > 0, "the loads during the outage failed and counted: " + tier);
                    }
                }
            }
        }
    }
}
