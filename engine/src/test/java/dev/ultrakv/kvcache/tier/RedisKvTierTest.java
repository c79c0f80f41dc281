package dev.ultrakv.kvcache.tier;

import io.lettuce.core.api.sync.RedisCommands;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import static dev.ultrakv.kvcache.tier.TierTestBlocks.await;
import static dev.ultrakv.kvcache.tier.TierTestBlocks.awaitWritten;
import static dev.ultrakv.kvcache.tier.TierTestBlocks.keys;
import static dev.ultrakv.kvcache.tier.TierTestBlocks.record;
import static dev.ultrakv.kvcache.tier.TierTestBlocks.records;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link RedisKvTier} against a real redis-server: what it stores, what it finds, what it refuses. */
class RedisKvTierTest {
    private static final String NAMESPACE = "model-r | FLOAT32 blocks of 4";
    /** A generous timeout: these tests are about what is stored, not about a loaded build machine's latency. */
    private static final RedisTierOptions OPTIONS = RedisTierOptions.defaults()
            .withCommandTimeout(Duration.ofSeconds(2));

    @RegisterExtension
    static final RedisWithClient server = new RedisWithClient();

    @BeforeEach
    void emptyServer() {
        raw().flushall();
    }

    @Test
    void offeredBlocksLoadBackByteForByteAndAreCounted() throws Exception {
        List<BlockKey> keys = keys(NAMESPACE, 1, 5);
        List<byte[]> records = records(NAMESPACE, keys, 1000);
        try (RedisKvTier tier = RedisKvTier.connect(server.uri(), OPTIONS)) {
            for (int i = 0; i < keys.size(); i++) {
                assertTrue(tier.offer(keys.get(i), records.get(i)));
            }
            awaitWritten(tier, keys.size());
            List<byte[]> loaded = tier.loadRun(keys).get(2, TimeUnit.SECONDS);
            assertEquals(keys.size(), loaded.size());
            for (int i = 0; i < keys.size(); i++) {
                assertArrayEquals(records.get(i), loaded.get(i), "block " + i);
            }
            long recordBytes = records.stream().mapToLong(r -> r.length).sum();
            TierStats stats = tier.stats();
            assertEquals(5, stats.hits());
            assertEquals(0, stats.misses());
            assertEquals(5, stats.blocksWritten());
            assertEquals(recordBytes, stats.bytesWritten());
            assertEquals(recordBytes, stats.bytesRead());
            assertEquals(0, stats.errors() + stats.droppedWrites() + stats.corrupt());
            assertTrue(stats.loadP50().compareTo(Duration.ZERO) > 0, "a load's latency is recorded");
            assertTrue(stats.loadP99().compareTo(stats.loadP50()) >= 0);
        }
    }

    @Test
    void keysAreThePrefixAndTheBinaryDigest() {
        BlockKey key = keys(NAMESPACE, 2, 1).getFirst();
        try (RedisKvTier tier = RedisKvTier.connect(server.uri(),
                OPTIONS.withKeyPrefix("fleet-a"))) {
            tier.offer(key, record(NAMESPACE, key, 10));
            awaitWritten(tier, 1);
        }
        byte[] expected = redisKey("fleet-a", key);
        assertEquals(List.of(new String(expected, StandardCharsets.ISO_8859_1)),
                raw().keys("*").stream().map(k -> new String(k, StandardCharsets.ISO_8859_1)).toList());
    }

    @Test
    void aRunStopsAtTheFirstMissingBlock() throws Exception {
        List<BlockKey> keys = keys(NAMESPACE, 3, 4);
        try (RedisKvTier tier = RedisKvTier.connect(server.uri(), OPTIONS)) {
            for (int i : new int[] {0, 1, 3}) {
                tier.offer(keys.get(i), record(NAMESPACE, keys.get(i), 100));
            }
            awaitWritten(tier, 3);
            List<byte[]> loaded = tier.loadRun(keys).get(2, TimeUnit.SECONDS);
            assertEquals(2, loaded.size(), "block 3 is stored but comes after the missing block 2");
            assertArrayEquals(record(NAMESPACE, keys.get(1), 100), loaded.get(1));
            assertEquals(List.of(), tier.loadRun(keys.subList(2, 4)).get(2, TimeUnit.SECONDS));
            assertEquals(2, tier.stats().hits());
            assertEquals(2, tier.stats().misses(), "one miss per run that stopped short");
        }
    }

    @Test
    void twoTiersOnOneServerShareEveryBlock() throws Exception {
        List<BlockKey> keys = keys(NAMESPACE, 4, 8);
        List<byte[]> records = records(NAMESPACE, keys, 4096);
        try (RedisKvTier writer = RedisKvTier.connect(server.uri(), OPTIONS);
             RedisKvTier reader = RedisKvTier.connect(server.uri(), OPTIONS)) {
            for (int i = 0; i < keys.size(); i++) {
                writer.offer(keys.get(i), records.get(i));
            }
            awaitWritten(writer, keys.size());
            List<byte[]> loaded = reader.loadRun(keys).get(2, TimeUnit.SECONDS);
            assertEquals(keys.size(), loaded.size());
            assertArrayEquals(records.getLast(), loaded.getLast());
            assertEquals(keys.size(), reader.stats().hits());
        }
        try (RedisKvTier otherFleet = RedisKvTier.connect(server.uri(),
                OPTIONS.withKeyPrefix("other"))) {
            assertEquals(List.of(), otherFleet.loadRun(keys).get(2, TimeUnit.SECONDS),
                    "another key prefix shares nothing");
        }
    }

    @Test
    void blocksExpireAfterTheirTtl() throws Exception {
        BlockKey key = keys(NAMESPACE, 5, 1).getFirst();
        try (RedisKvTier tier = RedisKvTier.connect(server.uri(),
                OPTIONS.withTtl(Duration.ofMillis(300)))) {
            tier.offer(key, record(NAMESPACE, key, 100));
            awaitWritten(tier, 1);
            long ttl = raw().pttl(redisKey(RedisTierOptions.DEFAULT_KEY_PREFIX, key));
            assertTrue(ttl > 0 && ttl <= 300, "PX 300 was set, PTTL " + ttl);
            assertEquals(1, tier.loadRun(List.of(key)).get(2, TimeUnit.SECONDS).size());
            await("the block has expired", Duration.ofSeconds(3),
                    () -> tier.loadRun(List.of(key)).join().isEmpty());
        }
    }

    @Test
    void aCorruptValueIsCountedAsAMissAndDeleted() throws Exception {
        List<BlockKey> keys = keys(NAMESPACE, 6, 3);
        List<byte[]> records = records(NAMESPACE, keys, 500);
        byte[] flipped = records.get(1).clone();
        flipped[flipped.length / 2] ^= 0x10;
        byte[] corruptKey = redisKey(RedisTierOptions.DEFAULT_KEY_PREFIX, keys.get(1));
        try (RedisKvTier tier = RedisKvTier.connect(server.uri(), OPTIONS)) {
            tier.offer(keys.get(0), records.get(0));
            tier.offer(keys.get(2), records.get(2));
            awaitWritten(tier, 2);
            raw().set(corruptKey, flipped);
            assertEquals(1, tier.loadRun(keys).get(2, TimeUnit.SECONDS).size(), "the run stops at the corrupt block");
            assertEquals(1, tier.stats().corrupt());
            assertEquals(1, tier.stats().misses());
            await("the corrupt value is deleted", Duration.ofSeconds(2), () -> raw().exists(corruptKey) == 0);

            raw().set(corruptKey, records.get(0));
            assertEquals(1, tier.loadRun(keys).get(2, TimeUnit.SECONDS).size(),
                    "a sound record of another block under this key is corrupt too");
            assertEquals(2, tier.stats().corrupt());
        }
    }

    @Test
    void aValueLongerThanTheBoundIsRefusedUncopiedAndDeleted() throws Exception {
        BlockKey key = keys(NAMESPACE, 7, 1).getFirst();
        byte[] redisKey = redisKey(RedisTierOptions.DEFAULT_KEY_PREFIX, key);
        try (RedisKvTier tier = RedisKvTier.connect(server.uri(),
                OPTIONS.withMaxRecordBytes(1024))) {
            raw().set(redisKey, new byte[64 * 1024]);
            assertEquals(List.of(), tier.loadRun(List.of(key)).get(2, TimeUnit.SECONDS));
            assertEquals(1, tier.stats().corrupt());
            assertEquals(0, tier.stats().bytesRead());
            await("the oversized value is deleted", Duration.ofSeconds(2), () -> raw().exists(redisKey) == 0);
            assertFalse(tier.offer(key, record(NAMESPACE, key, 2000)), "nor is one written");
            assertEquals(1, tier.stats().droppedWrites());
        }
    }

    @Test
    void aFullWriteQueueDropsOffersWithoutWaiting() {
        List<BlockKey> keys = keys(NAMESPACE, 8, 200);
        List<byte[]> records = records(NAMESPACE, keys, 16 * 1024);
        try (RedisKvTier tier = RedisKvTier.connect(server.uri(),
                OPTIONS.withWriteQueue(1024, 64 * 1024))) {
            long start = System.nanoTime();
            int accepted = 0;
            for (int i = 0; i < keys.size(); i++) {
                accepted += tier.offer(keys.get(i), records.get(i)) ? 1 : 0;
            }
            assertTrue(System.nanoTime() - start < Duration.ofSeconds(1).toNanos(), "offers never wait");
            assertTrue(accepted < keys.size(), "a 64 KiB queue cannot take 200 blocks of 16 KiB at once");
            assertEquals(keys.size() - accepted, tier.stats().droppedWrites());
            awaitWritten(tier, accepted);
        }
    }

    @Test
    void manyThreadsOfferAndLoadAtOnce() throws Exception {
        int threads = 8;
        int blocksPerThread = 40;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try (RedisKvTier tier = RedisKvTier.connect(server.uri(), OPTIONS)) {
            List<Future<Integer>> results = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long seed = 100 + t;
                results.add(pool.submit(() -> {
                    List<BlockKey> keys = keys(NAMESPACE, seed, blocksPerThread);
                    List<byte[]> records = records(NAMESPACE, keys, 2048);
                    for (int i = 0; i < keys.size(); i++) {
                        assertTrue(tier.offer(keys.get(i), records.get(i)));
                    }
                    // Loads race the writer: each finds a leading run, never a wrong block.
                    int found = 0;
                    long deadline = System.nanoTime() + Duration.ofSeconds(5).toNanos();
                    while (found < keys.size() && System.nanoTime() < deadline) {
                        List<byte[]> run = tier.loadRun(keys).get(2, TimeUnit.SECONDS);
                        for (int i = 0; i < run.size(); i++) {
                            assertArrayEquals(records.get(i), run.get(i));
                        }
                        found = run.size();
                        run.forEach(tier::recycle); // the next loads, of every thread, read into them
                    }
                    return found;
                }));
            }
            for (Future<Integer> result : results) {
                assertEquals(blocksPerThread, result.get(10, TimeUnit.SECONDS));
            }
            // A SET's value is readable before the writer has its reply and counts it: wait for the count.
            awaitWritten(tier, threads * blocksPerThread);
            TierStats stats = tier.stats();
            assertEquals(threads * blocksPerThread, stats.blocksWritten());
            assertEquals(0, stats.errors() + stats.corrupt() + stats.droppedWrites());
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void aRecycledRecordCarriesALaterLoadWithThatLoadsBytes() throws Exception {
        List<BlockKey> first = keys(NAMESPACE, 11, 5);
        List<BlockKey> second = keys(NAMESPACE, 12, 5);
        List<byte[]> secondRecords = records(NAMESPACE, second, 3000);
        try (RedisKvTier tier = RedisKvTier.connect(server.uri(), OPTIONS)) {
            List<byte[]> firstRecords = records(NAMESPACE, first, 3000);
            for (int i = 0; i < first.size(); i++) {
                tier.offer(first.get(i), firstRecords.get(i));
                tier.offer(second.get(i), secondRecords.get(i));
            }
            awaitWritten(tier, 10);
            List<byte[]> loaded = tier.loadRun(first).get(2, TimeUnit.SECONDS);
            Set<byte[]> given = Collections.newSetFromMap(new IdentityHashMap<>());
            given.addAll(loaded);
            loaded.forEach(tier::recycle);
            List<byte[]> again = tier.loadRun(second).get(2, TimeUnit.SECONDS);
            assertEquals(second.size(), again.size());
            for (int i = 0; i < second.size(); i++) {
                assertTrue(given.contains(again.get(i)), "block " + i + " was read into a recycled array");
                assertArrayEquals(secondRecords.get(i), again.get(i), "block " + i);
            }
        }
    }

    @Test
    void aLongRunGetsTheCallBoundPerMgetNotOnceForTheWholeRun() throws Exception {
        List<BlockKey> keys = keys(NAMESPACE, 13, 20_000);
        Map<byte[], byte[]> values = new LinkedHashMap<>();
        for (BlockKey key : keys) {
            values.put(redisKey(RedisTierOptions.DEFAULT_KEY_PREFIX, key), record(NAMESPACE, key, 16));
        }
        raw().mset(values);
        long took;
        try (RedisKvTier tier = RedisKvTier.connect(server.uri(), OPTIONS)) {
            assertEquals(keys.size(), tier.loadRun(keys).get(10, TimeUnit.SECONDS).size()); // compiles the path
            long start = System.nanoTime();
            assertEquals(keys.size(), tier.loadRun(keys).get(10, TimeUnit.SECONDS).size());
            took = System.nanoTime() - start;
        }
        // 10,000 MGETs of two small values: each takes microseconds, the run a quarter second or more here. A bound
        // of half the run leaves one MGET a margin of a hundred milliseconds or more, and the run none.
        Assumptions.assumeTrue(took >= Duration.ofMillis(200).toNanos(),
                "the run took " + took / 1_000_000 + " ms: too quick to outlast a call's bound");
        Duration bound = Duration.ofNanos(took / 2);
        try (RedisKvTier tier = RedisKvTier.connect(server.uri(), OPTIONS.withCommandTimeout(bound))) {
            List<byte[]> run = tier.loadRun(keys).get(10, TimeUnit.SECONDS);
            assertEquals(keys.size(), run.size(), "a run twice as long as one call's bound: " + tier.stats());
            assertEquals(0, tier.stats().errors());
        }
    }

    private static RedisCommands<byte[], byte[]> raw() {
        return server.connection().sync();
    }

    private static byte[] redisKey(String prefix, BlockKey key) {
        byte[] name = (prefix + ":").getBytes(StandardCharsets.UTF_8);
        byte[] redisKey = new byte[name.length + BlockKey.BYTES];
        System.arraycopy(name, 0, redisKey, 0, name.length);
        key.copyTo(redisKey, name.length);
        return redisKey;
    }
}
