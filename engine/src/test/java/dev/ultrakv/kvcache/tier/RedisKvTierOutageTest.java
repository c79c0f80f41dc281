package dev.ultrakv.kvcache.tier;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.logging.Handler;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import static dev.ultrakv.kvcache.tier.TierTestBlocks.await;
import static dev.ultrakv.kvcache.tier.TierTestBlocks.awaitWritten;
import static dev.ultrakv.kvcache.tier.TierTestBlocks.keys;
import static dev.ultrakv.kvcache.tier.TierTestBlocks.record;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link RedisKvTier} when its redis-server is down, stopped mid-run, frozen, and back again. */
class RedisKvTierOutageTest {
    private static final String NAMESPACE = "model-o | INT8 blocks of 4";
    private static final Duration TIMEOUT = Duration.ofMillis(200);
    /** Slack for a loaded two-core machine on top of the tier's own timeout. */
    private static final Duration SLACK = Duration.ofMillis(400);
    /** A restarted server is used again within this (reconnect pauses are at most a second). */
    private static final Duration RECOVERY = Duration.ofSeconds(5);

    @TempDir
    Path directory;
    private RedisServerProcess server;

    @AfterEach
    void stopServer() {
        if (server != null) {
            server.close();
        }
    }

    @Test
    void aServerStoppedMidRunTurnsLoadsIntoPromptMissesLogsOnceAndARestartedOneIsUsedAgain() throws Exception {
        server = RedisServerProcess.start(directory);
        List<BlockKey> keys = keys(NAMESPACE, 1, 3);
        LogCapture log = new LogCapture();
        try (log; RedisKvTier tier = RedisKvTier.connect(server.uri(), options())) {
            tier.offer(keys.get(0), record(NAMESPACE, keys.get(0), 256));
            awaitWritten(tier, 1);
            assertEquals(1, tier.loadRun(keys).get(1, TimeUnit.SECONDS).size());

            server.stop();
            for (int i = 0; i < 5; i++) {
                assertLoadMissesWithinTimeout(tier, keys);
            }
            await("offers are dropped while the server is down", RECOVERY,
                    () -> !tier.offer(keys.get(1), record(NAMESPACE, keys.get(1), 256)));
            assertFalse(tier.reachable());
            assertTrue(tier.stats().errors() > 0);
            assertTrue(tier.stats().droppedWrites() > 0);

            server.start();
            // The restarted server has no data (no persistence): write again and find it.
            await("the same tier writes and loads again", RECOVERY, () -> {
                tier.offer(keys.get(0), record(NAMESPACE, keys.get(0), 256));
                return tier.loadRun(keys).join().size() == 1;
            });
            assertTrue(tier.reachable());
        }
        assertEquals(1, log.count("unreachable"), "one warning for the outage, however many calls failed: " + log);
        assertEquals(1, log.count("answers again"), log.toString());
    }

    @Test
    void aTierMadeWhileTheServerIsDownStartsAndLaterConnects() throws Exception {
        server = RedisServerProcess.notStarted(directory);
        List<BlockKey> keys = keys(NAMESPACE, 2, 2);
        long start = System.nanoTime();
        try (RedisKvTier tier = RedisKvTier.connect(server.uri(), options())) {
            // Refused connections fail at once; the bound leaves room for loading Lettuce on a busy machine.
            assertTrue(System.nanoTime() - start < Duration.ofSeconds(10).toNanos(), "connect does not hang");
            assertFalse(tier.reachable());
            assertLoadMissesWithinTimeout(tier, keys);
            assertFalse(tier.offer(keys.get(0), record(NAMESPACE, keys.get(0), 64)));

            server.start();
            await("the tier connects to the server that came up", RECOVERY, tier::reachable);
            assertTrue(tier.offer(keys.get(0), record(NAMESPACE, keys.get(0), 64)));
            assertTrue(tier.offer(keys.get(1), record(NAMESPACE, keys.get(1), 64)));
            awaitWritten(tier, 2);
            assertEquals(2, tier.loadRun(keys).get(1, TimeUnit.SECONDS).size());
        }
    }

    @Test
    void aFrozenServerCostsALoadNoMoreThanTheTimeout() throws Exception {
        server = RedisServerProcess.start(directory);
        List<BlockKey> keys = keys(NAMESPACE, 3, 2);
        try (RedisKvTier tier = RedisKvTier.connect(server.uri(), options())) {
            tier.offer(keys.get(0), record(NAMESPACE, keys.get(0), 64));
            awaitWritten(tier, 1);

            server.pause();
            assertLoadMissesWithinTimeout(tier, keys);
            assertFalse(tier.reachable(), "a timeout marks the server unreachable");
            assertLoadMissesWithinTimeout(tier, keys);

            server.resume();
            await("the thawed server answers again", RECOVERY,
                    () -> tier.loadRun(keys).join().size() == 1);
        }
    }

    @Test
    void aFlappingServerIsReportedOnceNotOncePerFlap() throws Exception {
        server = RedisServerProcess.start(directory);
        List<BlockKey> keys = keys(NAMESPACE, 5, 1);
        try (LogCapture log = new LogCapture();
             RedisKvTier tier = RedisKvTier.connect(server.uri(), options())) {
            for (int flap = 0; flap < 3; flap++) {
                server.pause();
                assertLoadMissesWithinTimeout(tier, keys);
                server.resume();
                await("the thawed server answers again", RECOVERY, tier::reachable);
            }
            assertEquals(1, log.count("unreachable"), log.toString());
            assertEquals(1, log.count("answers again"), log.toString());
        }
    }

    @Test
    void aPasswordInTheUriIsSentAndAWrongOneLeavesTheTierStartedButUnreachable() throws Exception {
        server = RedisServerProcess.start(directory, "--requirepass", "s3cret");
        List<BlockKey> keys = keys(NAMESPACE, 6, 1);
        String withPassword = "redis://:s3cret@127.0.0.1:" + server.port() + "/0";
        try (RedisKvTier tier = RedisKvTier.connect(withPassword, options())) {
            assertTrue(tier.reachable());
            tier.offer(keys.getFirst(), record(NAMESPACE, keys.getFirst(), 64));
            awaitWritten(tier, 1);
            assertEquals(1, tier.loadRun(keys).get(1, TimeUnit.SECONDS).size());
            assertFalse(tier.toString().contains("s3cret"));
        }
        try (RedisKvTier tier = RedisKvTier.connect("redis://:wrong@127.0.0.1:" + server.port(), options())) {
            assertFalse(tier.reachable());
            assertLoadMissesWithinTimeout(tier, keys);
        }
    }

    /** What {@link RedisKvTier} logs while it is open. */
    private static final class LogCapture extends Handler implements AutoCloseable {
        private final List<LogRecord> records = new CopyOnWriteArrayList<>();
        private final Logger logger = Logger.getLogger(RedisKvTier.class.getName());

        LogCapture() {
            logger.addHandler(this);
        }

        long count(String text) {
            return records.stream().filter(r -> r.getMessage().contains(text)).count();
        }

        @Override
        public void publish(LogRecord record) {
            records.add(record);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
            logger.removeHandler(this);
        }

        @Override
        public String toString() {
            return records.stream().map(r -> r.getLevel() + " " + r.getMessage()).toList().toString();
        }
    }

    @Test
    void closeReturnsPromptlyWhileTheServerIsFrozen() {
        server = RedisServerProcess.start(directory);
        List<BlockKey> keys = keys(NAMESPACE, 4, 50);
        RedisKvTier tier = RedisKvTier.connect(server.uri(), options());
        server.pause();
        for (BlockKey key : keys) {
            tier.offer(key, record(NAMESPACE, key, 1024));
        }
        long start = System.nanoTime();
        tier.close();
        assertTrue(System.nanoTime() - start < Duration.ofSeconds(5).toNanos(), "close waits a bounded time");
        assertEquals(keys.size(), tier.stats().droppedWrites() + tier.stats().blocksWritten());
        assertFalse(tier.offer(keys.get(0), record(NAMESPACE, keys.get(0), 8)), "a closed tier takes nothing");
        assertEquals(List.of(), tier.loadRun(keys).join());
    }

    private static RedisTierOptions options() {
        return RedisTierOptions.defaults().withCommandTimeout(TIMEOUT);
    }

    private static void assertLoadMissesWithinTimeout(KvTier tier, List<BlockKey> keys) throws Exception {
        long start = System.nanoTime();
        CompletableFuture<List<byte[]>> load = tier.loadRun(keys);
        assertEquals(List.of(), load.get(TIMEOUT.plus(SLACK).toMillis(), TimeUnit.MILLISECONDS));
        assertTrue(System.nanoTime() - start < TIMEOUT.plus(SLACK).toNanos());
    }
}
