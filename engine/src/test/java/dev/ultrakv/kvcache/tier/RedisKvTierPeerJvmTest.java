package dev.ultrakv.kvcache.tier;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static dev.ultrakv.kvcache.tier.RedisTierPeer.NAMESPACE;
import static dev.ultrakv.kvcache.tier.RedisTierPeer.PAYLOAD_BYTES;
import static dev.ultrakv.kvcache.tier.TierTestBlocks.awaitWritten;
import static dev.ultrakv.kvcache.tier.TierTestBlocks.keys;
import static dev.ultrakv.kvcache.tier.TierTestBlocks.record;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Two engines in two JVMs share blocks through one redis-server, each finding what only the other wrote. */
class RedisKvTierPeerJvmTest {
    private static final int BLOCKS = 6;

    @TempDir
    Path directory;

    @Test
    void aSeparateJvmFindsOurBlocksAndWeFindItsBlocks() throws Exception {
        try (RedisServerProcess server = RedisServerProcess.start(directory);
             RedisKvTier tier = RedisKvTier.connect(server.uri(), RedisTierPeer.OPTIONS)) {
            List<BlockKey> ours = keys(NAMESPACE, 41, BLOCKS);
            for (BlockKey key : ours) {
                tier.offer(key, record(NAMESPACE, key, PAYLOAD_BYTES));
            }
            awaitWritten(tier, BLOCKS);

            String output = TierTestBlocks.runJvm(Duration.ofSeconds(30), RedisTierPeer.class, server.uri(), "41",
                    "42", Integer.toString(BLOCKS));
            assertTrue(output.contains("hits=" + BLOCKS), "the peer found every block we wrote:\n" + output);

            List<BlockKey> theirs = keys(NAMESPACE, 42, BLOCKS);
            List<byte[]> loaded = tier.loadRun(theirs).get(2, TimeUnit.SECONDS);
            assertEquals(BLOCKS, loaded.size(), "we find every block the peer wrote");
            assertArrayEquals(record(NAMESPACE, theirs.getLast(), PAYLOAD_BYTES), loaded.getLast());
        }
    }
}
