package dev.ultrakv.kvcache.tier;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
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

            String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
            Process peer = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                    RedisTierPeer.class.getName(), server.uri(), "41", "42", Integer.toString(BLOCKS))
                    .redirectErrorStream(true)
                    .start();
            boolean exited = peer.waitFor(30, TimeUnit.SECONDS);
            String output = new String(peer.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!exited) {
                peer.destroyForcibly();
            }
            assertTrue(exited, "the peer JVM finished; its output:\n" + output);
            assertEquals(0, peer.exitValue(), "the peer JVM's output:\n" + output);
            assertTrue(output.contains("hits=" + BLOCKS), "the peer found every block we wrote:\n" + output);

            List<BlockKey> theirs = keys(NAMESPACE, 42, BLOCKS);
            List<byte[]> loaded = tier.loadRun(theirs).get(2, TimeUnit.SECONDS);
            assertEquals(BLOCKS, loaded.size(), "we find every block the peer wrote");
            assertArrayEquals(record(NAMESPACE, theirs.getLast(), PAYLOAD_BYTES), loaded.getLast());
        }
    }
}
