package dev.ultrakv.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import dev.ultrakv.KVCacheConfig;
import dev.ultrakv.UltraAdaptiveKVCacheEngine;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/**
 * {@code serve --kv-disk}: a server restarted on the same directory reports the prompt an earlier one computed as
 * cached tokens to the OpenAI client, and the tier options are checked before anything is opened.
 */
class KvDiskTierServeTest {
    private static final String PROMPT = "The little dog ran to the park with his ball and his best friend, a cat"
            + " named Tom, who liked to sleep in the sun by the old tree near the river.";

    @TempDir
    Path directory;

    /** A server whose engine is configured by {@code serve}'s own options. */
    private static UltraKvServer serve(String... options) throws Exception {
        ServeCommand command = new ServeCommand();
        new CommandLine(command).parseArgs(options);
        KVCacheConfig config = command.cacheConfig();
        return UltraKvServer.start(ServerConfig.defaults().withPort(0), () -> new UltraAdaptiveKVCacheEngine(config));
    }

    private static Completion complete(UltraKvServer server) {
        OpenAIClient openai = OpenAIOkHttpClient.builder().baseUrl(server.baseUrl() + "/v1").apiKey("unused")
                .maxRetries(0).build();
        try {
            return openai.completions().create(CompletionCreateParams.builder()
                    .model(server.engine().modelInfo().name()).prompt(PROMPT).maxTokens(6).temperature(0.0).build());
        } finally {
            openai.close();
        }
    }

    private static long cachedTokens(Completion completion) {
        return completion.usage().orElseThrow().promptTokensDetails().orElseThrow().cachedTokens().orElse(0L);
    }

    @Test
    void aServerRestartedOnTheSameDirectoryReportsThePromptAsCached() throws Exception {
        Path disk = directory.resolve("kv");
        Completion first;
        try (UltraKvServer server = serve("--kv-disk", disk.toString(), "--kv-disk-bytes", "67108864")) {
            first = complete(server);
            assertEquals(0, cachedTokens(first), "nothing was cached yet");
        }
        assertTrue(Files.list(disk).findAny().isPresent(), "the first server left its blocks in " + disk);
        try (UltraKvServer server = serve("--kv-disk", disk.toString())) {
            Completion second = complete(server);
            long prompt = second.usage().orElseThrow().promptTokens();
            assertEquals(prompt / KVCacheConfig.DEFAULT_BLOCK_SIZE * KVCacheConfig.DEFAULT_BLOCK_SIZE,
                    cachedTokens(second), "every full block of the prompt came from the disk tier");
            assertEquals(first.choices().get(0).text(), second.choices().get(0).text());
            assertTrue(TestServers.metric(server, "ultrakv_kv_tier_promoted_blocks_total") > 0);
        }
    }

    @Test
    void tierOptionsAreCheckedBeforeAnythingIsOpened() {
        Path disk = directory.resolve("never");
        ServeCommand budgetAlone = new ServeCommand();
        new CommandLine(budgetAlone).parseArgs("--kv-disk-bytes", "1000");
        assertEquals("--kv-disk-bytes needs --kv-disk",
                assertThrows(IllegalArgumentException.class, budgetAlone::cacheConfig).getMessage());
        ServeCommand negative = new ServeCommand();
        new CommandLine(negative).parseArgs("--kv-disk", disk.toString(), "--kv-disk-bytes", "-1");
        assertEquals("--kv-disk-bytes must be positive, got -1",
                assertThrows(IllegalArgumentException.class, negative::cacheConfig).getMessage());
        ServeCommand badRedis = new ServeCommand();
        new CommandLine(badRedis).parseArgs("--kv-disk", disk.toString(), "--kv-redis", "http://nowhere");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, badRedis::cacheConfig);
        assertTrue(e.getMessage().contains("http://nowhere"), e.getMessage());
        // The disk tier opened before the Redis URI was refused is closed again: its directory is free.
        assertTrue(canOpen(disk), "the disk tier was released");
    }

    private static boolean canOpen(Path disk) {
        try {
            dev.ultrakv.kvcache.tier.DiskKvTier.open(disk, 1 << 20).close();
            return true;
        } catch (IllegalStateException e) {
            return false;
        }
    }
}
