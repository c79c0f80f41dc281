package dev.ultrakv.kvcache.tier;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.RandomAccessFile;
import java.lang.management.ManagementFactory;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

import static dev.ultrakv.kvcache.tier.DiskTierBlocks.key;
import static dev.ultrakv.kvcache.tier.DiskTierBlocks.keys;
import static dev.ultrakv.kvcache.tier.DiskTierBlocks.record;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class DiskKvTierTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    @TempDir
    Path dir;

    @Test
    void manyRecordsOfManySizesRoundTrip() throws Exception {
        int count = 300;
        long bytes = 0;
        try (DiskKvTier tier = DiskKvTier.open(dir, 64L << 20)) {
            for (int i = 0; i < count; i++) {
                byte[] record = record(i, sizeOf(i));
                bytes += record.length;
                assertTrue(tier.offer(key(i), record));
            }
            assertTrue(tier.awaitWrites(WAIT));
            List<byte[]> run = load(tier, keys(0, count));
            assertEquals(count, run.size());
            for (int i = 0; i < count; i++) {
                assertArrayEquals(record(i, sizeOf(i)), run.get(i), "block " + i);
            }
            TierStats stats = tier.stats();
            assertEquals("disk", stats.tier());
            assertEquals(count, stats.hits());
            assertEquals(0, stats.misses());
            assertEquals(count, stats.blocksWritten());
            assertEquals(bytes, stats.bytesWritten());
            assertEquals(bytes, stats.bytesRead());
            assertEquals(0, stats.errors() + stats.corrupt() + stats.droppedWrites());
            assertTrue(stats.loadP50().toNanos() > 0 && stats.loadP99().compareTo(stats.loadP50()) >= 0);
            assertEquals(tier.diskBytes(), directoryBytes());
        }
    }

    @Test
    void loadRunReturnsTheLeadingRunAndStopsAtTheFirstMissingKey() throws Exception {
        try (DiskKvTier tier = DiskKvTier.open(dir, 1L << 20)) {
            for (int i : new int[] {0, 1, 2, 4}) {
                tier.offer(key(i), record(i, 100));
            }
            assertTrue(tier.awaitWrites(WAIT));
            List<byte[]> run = load(tier, keys(0, 5));
            assertEquals(3, run.size(), "block 3 is missing, so block 4 is not returned");
            assertArrayEquals(record(2, 100), run.get(2));
            assertEquals(List.of(), load(tier, keys(3, 5)));
            assertEquals(1, load(tier, keys(4, 5)).size());
            assertEquals(List.of(), load(tier, List.of()));
            TierStats stats = tier.stats();
            assertEquals(4, stats.hits());
            assertEquals(2, stats.misses(), "one miss per run that stopped short");
        }
    }

    @Test
    void aRecycledRecordCarriesALaterLoadWithThatLoadsBytes() throws Exception {
        try (DiskKvTier tier = DiskKvTier.open(dir, 1L << 20)) {
            offerAll(tier, 0, 8, 300);
            List<byte[]> first = load(tier, keys(0, 4));
            Set<byte[]> given = Collections.newSetFromMap(new IdentityHashMap<>());
            given.addAll(first);
            first.forEach(tier::recycle);
            List<byte[]> second = load(tier, keys(4, 8));
            for (int i = 0; i < second.size(); i++) {
                assertTrue(given.contains(second.get(i)), "block " + (4 + i) + " was read into a recycled array");
            }
            assertRunIs(tier, 4, 8, 300);
            // A record of another length is read into an array of its own, and nothing is shared twice.
            second.forEach(tier::recycle);
            offerAll(tier, 8, 9, 500);
            assertArrayEquals(record(8, 500), load(tier, keys(8, 9)).getFirst());
        }
    }

    @Test
    void aReopenedTierFindsEveryBlockWrittenBeforeAndKeepsWriting() throws Exception {
        DiskTierOptions options = DiskTierOptions.of(8L << 20).withSegmentBytes(64 << 10);
        try (DiskKvTier tier = DiskKvTier.open(dir, options)) {
            offerAll(tier, 0, 200, 1500);
        }
        assertTrue(segmentFiles().size() > 3, "the blocks span several segments");
        try (DiskKvTier tier = DiskKvTier.open(dir, options)) {
            assertEquals(new DiskRecovery(segmentFiles().size(), 200, 0, 0, 0), tier.recovery());
            assertRunIs(tier, 0, 200, 1500);
            offerAll(tier, 200, 300, 1500);
        }
        try (DiskKvTier tier = DiskKvTier.open(dir, options)) {
            assertEquals(300, tier.recovery().records());
            assertRunIs(tier, 0, 300, 1500);
        }
        DiskTierOptions smaller = DiskTierOptions.of(200 << 10).withSegmentBytes(64 << 10);
        try (DiskKvTier tier = DiskKvTier.open(dir, smaller)) {
            assertTrue(directoryBytes() <= smaller.maxBytes(), "a smaller budget evicts at open");
            assertEquals(List.of(), load(tier, keys(0, 1)), "the oldest blocks went first");
            assertEquals(1, load(tier, keys(299, 300)).size());
        }
    }

    @Test
    void closeFinishesTheQueuedWrites() throws Exception {
        DiskKvTier tier = DiskKvTier.open(dir, 64L << 20);
        for (int i = 0; i < 50; i++) {
            assertTrue(tier.offer(key(i), record(i, 20_000)));
        }
        tier.close();
        assertEquals(50, tier.stats().blocksWritten());
        try (DiskKvTier reopened = DiskKvTier.open(dir, 64L << 20)) {
            assertRunIs(reopened, 0, 50, 20_000);
        }
    }

    @Test
    void aWriterProcessKilledMidWriteLeavesADirectoryTheNextOpenReads() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process child = new ProcessBuilder(java.toString(), "-cp", System.getProperty("java.class.path"),
                DiskTierWriterMain.class.getName(), dir.toString()).redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(child.getInputStream(),
                    StandardCharsets.UTF_8));
            String line = CompletableFuture.supplyAsync(() -> {
                try {
                    return out.readLine();
                } catch (IOException e) {
                    return e.toString();
                }
            }).get(30, TimeUnit.SECONDS);
            assertEquals("writing", line);
            IllegalStateException busy = assertThrows(IllegalStateException.class,
                    () -> DiskKvTier.open(dir, 1 << 20), "the writing process holds the directory's lock");
            assertTrue(busy.getMessage().contains(dir.toString()), busy.getMessage());
            Thread.sleep(200);
        } finally {
            child.destroyForcibly();
            assertTrue(child.waitFor(10, TimeUnit.SECONDS));
        }
        try (DiskKvTier tier = DiskKvTier.open(dir, DiskTierWriterMain.BUDGET_BYTES)) {
            DiskRecovery recovery = tier.recovery();
            assertTrue(recovery.records() > 0, recovery.toString());
            assertEquals(recovery.tornRecords(), tier.stats().corrupt(), "torn records are counted");
            int found = 0;
            int window = 8;
            for (List<byte[]> run; (run = load(tier, keys(found, found + window))).size() > 0; ) {
                for (int i = 0; i < run.size(); i++) {
                    assertArrayEquals(DiskTierBlocks.stampedRecord(found + i, DiskTierWriterMain.PATTERN),
                            run.get(i));
                }
                found += run.size();
            }
            assertEquals(recovery.records(), found, "the blocks on disk are exactly the first ones offered");
            assertEquals(List.of(), load(tier, keys(found + 1, found + window)), "nothing after the first gap");
            assertEquals(0, tier.stats().errors());
            assertEquals(recovery.tornRecords(), tier.stats().corrupt(), "every block read was sound");
            offerAll(tier, found, found + 3, 1000);
            assertEquals(found + 3, load(tier, keys(0, found + 3)).size(), "writing resumes after the kill");
        }
    }

    @Test
    void aTornTailIsCountedAndCutOff() throws Exception {
        DiskTierOptions options = DiskTierOptions.of(1L << 20);
        try (DiskKvTier tier = DiskKvTier.open(dir, options)) {
            offerAll(tier, 0, 10, 1000);
        }
        Path segment = segmentFiles().getFirst();
        long size = Files.size(segment);
        try (RandomAccessFile file = new RandomAccessFile(segment.toFile(), "rw")) {
            file.setLength(size - 7);
        }
        Files.write(dir.resolve(DiskSegment.fileName(99)), new byte[3]);
        try (DiskKvTier tier = DiskKvTier.open(dir, options)) {
            DiskRecovery recovery = tier.recovery();
            assertEquals(1, recovery.tornRecords());
            assertEquals(9, recovery.records());
            assertEquals(1, recovery.discardedSegments(), "a segment without its header is deleted");
            assertEquals(1, tier.stats().corrupt());
            assertEquals(size - record(9, 1000).length, Files.size(segment), "cut at the torn record");
            assertEquals(9, load(tier, keys(0, 10)).size());
        }
        byte[] head = new byte[20];
        ByteBuffer.wrap(head).putInt(BlockRecord.MAGIC);
        Files.write(segment, head, java.nio.file.StandardOpenOption.APPEND);
        try (DiskKvTier tier = DiskKvTier.open(dir, options)) {
            assertEquals(1, tier.recovery().tornRecords(), "a half-written record head is torn too");
            assertEquals(9, load(tier, keys(0, 10)).size());
        }
    }

    @Test
    void aLastRecordFailingItsChecksumIsCutOffAndAForeignSegmentDeleted() throws Exception {
        DiskTierOptions options = DiskTierOptions.of(1L << 20);
        try (DiskKvTier tier = DiskKvTier.open(dir, options)) {
            offerAll(tier, 0, 4, 200_000);
        }
        Path segment = segmentFiles().getFirst();
        long size = Files.size(segment);
        try (RandomAccessFile file = new RandomAccessFile(segment.toFile(), "rw")) {
            file.seek(size - 100_000);
            int b = file.read();
            file.seek(size - 100_000);
            file.write(~b);
        }
        Path foreign = dir.resolve(DiskSegment.fileName(50));
        Files.write(foreign, new byte[64]);
        try (DiskKvTier tier = DiskKvTier.open(dir, options)) {
            assertEquals(new DiskRecovery(1, 3, 1, record(3, 200_000).length, 1), tier.recovery());
            assertFalse(Files.exists(foreign));
            assertEquals(3, load(tier, keys(0, 4)).size());
        }
    }

    @Test
    void aFlippedByteIsCountedAsCorruptReadAsAMissAndForgotten() throws Exception {
        try (DiskKvTier tier = DiskKvTier.open(dir, 1L << 20)) {
            offerAll(tier, 0, 5, 1000);
            int recordBytes = record(0, 1000).length;
            Path segment = segmentFiles().getFirst();
            try (RandomAccessFile file = new RandomAccessFile(segment.toFile(), "rw")) {
                long at = DiskSegment.HEADER_BYTES + 2L * recordBytes + 500;
                file.seek(at);
                int b = file.read();
                file.seek(at);
                file.write(b ^ 0x10);
            }
            assertEquals(2, load(tier, keys(0, 5)).size());
            assertEquals(1, tier.stats().corrupt());
            assertEquals(4, tier.blockCount(), "the corrupt block is forgotten");
            assertEquals(List.of(), load(tier, keys(2, 3)));
            assertEquals(1, tier.stats().corrupt(), "a forgotten block is a plain miss");
            assertEquals(2, load(tier, keys(3, 5)).size());
            assertEquals(2, tier.stats().misses());
        }
    }

    @Test
    void theBudgetEvictsTheOldestSegmentsAndIsNeverExceeded() throws Exception {
        long budget = 1L << 20;
        DiskTierOptions options = DiskTierOptions.of(budget).withSegmentBytes(128 << 10);
        int count = 400;
        int payload = 10_000;
        try (DiskKvTier tier = DiskKvTier.open(dir, options)) {
            for (int i = 0; i < count; i += 20) {
                offerAll(tier, i, i + 20, payload);
                assertTrue(directoryBytes() <= budget, "after " + (i + 20) + " blocks: " + directoryBytes());
            }
            assertEquals(tier.diskBytes(), directoryBytes());
            assertTrue(tier.diskBytes() > budget - options.segmentBytes() - record(0, payload).length,
                    "eviction frees no more than it must: " + tier.diskBytes());
            int kept = tier.blockCount();
            assertTrue(kept < count);
            assertEquals(kept, load(tier, keys(count - kept, count)).size(), "the newest blocks are kept");
            assertEquals(List.of(), load(tier, keys(count - kept - 1, count)), "the older ones are gone");
            assertEquals(List.of(), load(tier, keys(0, 1)));
            assertEquals(0, tier.stats().errors());
        }
        assertTrue(record(0, 2 << 20).length > budget);
        try (DiskKvTier tier = DiskKvTier.open(dir, options)) {
            assertTrue(tier.offer(key(1000), record(1000, 2 << 20)));
            assertTrue(tier.awaitWrites(WAIT));
            assertEquals(1, tier.stats().droppedWrites(), "a block larger than the budget is dropped");
            assertTrue(directoryBytes() <= budget);
        }
    }

    @Test
    void aFullQueueDropsOffersAndCountsThem() throws Exception {
        DiskTierOptions options = DiskTierOptions.of(256L << 20).withQueueBytes(64 << 10);
        int count = 2000;
        List<byte[]> records = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            records.add(record(i, 16 << 10));
        }
        try (DiskKvTier tier = DiskKvTier.open(dir, options)) {
            int dropped = 0;
            for (int i = 0; i < count; i++) {
                if (!tier.offer(key(i), records.get(i))) {
                    dropped++;
                }
            }
            assertTrue(tier.awaitWrites(WAIT));
            TierStats stats = tier.stats();
            assertTrue(dropped > 0, "a 64 KiB queue cannot hold 2000 blocks of 16 KiB offered at once");
            assertEquals(dropped, stats.droppedWrites());
            assertEquals(count - dropped, stats.blocksWritten());
            assertEquals(count - dropped, tier.blockCount());
        }
    }

    @Test
    void severalThreadsOfferAndLoadWhileSegmentsAreEvicted() throws Exception {
        DiskTierOptions options = DiskTierOptions.of(2L << 20).withSegmentBytes(256 << 10);
        int threads = 4;
        int perThread = 150;
        int payload = 8 << 10;
        try (DiskKvTier tier = DiskKvTier.open(dir, options);
             ExecutorService pool = Executors.newFixedThreadPool(threads)) {
            List<Future<Integer>> loaded = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                loaded.add(pool.submit(() -> {
                    Random random = new Random(thread);
                    int blocks = 0;
                    for (int n = 0; n < perThread; n++) {
                        int i = n * threads + thread;
                        while (!tier.offer(key(i), record(i, payload))) {
                            Thread.sleep(1);
                        }
                        int from = random.nextInt(i + 1);
                        List<byte[]> run = load(tier, keys(from, Math.min(from + 8, i + 1)));
                        for (int k = 0; k < run.size(); k++) {
                            assertArrayEquals(record(from + k, payload), run.get(k), "block " + (from + k));
                        }
                        blocks += run.size();
                    }
                    return blocks;
                }));
            }
            int blocks = 0;
            for (Future<Integer> f : loaded) {
                blocks += f.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            }
            assertTrue(tier.awaitWrites(WAIT));
            TierStats stats = tier.stats();
            assertEquals(blocks, stats.hits());
            assertEquals(0, stats.errors(), "a read that races with eviction is a miss, not an error");
            assertEquals(0, stats.corrupt());
            assertTrue(directoryBytes() <= options.maxBytes());
            int kept = tier.blockCount();
            assertTrue(kept > 0 && kept < threads * perThread, "some blocks were evicted: " + kept);
            int found = 0;
            for (int i = 0; i < threads * perThread; i++) {
                for (byte[] record : load(tier, keys(i, i + 1))) {
                    assertArrayEquals(record(i, payload), record, "block " + i);
                    found++;
                }
            }
            assertEquals(kept, found, "every block the index holds reads back");
        }
    }

    @Test
    void badArgumentsAreRefusedWithTheirPathOrValue() throws Exception {
        Path file = Files.writeString(dir.resolve("a-file"), "x");
        IllegalArgumentException notDirectory = assertThrows(IllegalArgumentException.class,
                () -> DiskKvTier.open(file, 1 << 20));
        assertTrue(notDirectory.getMessage().contains(file.toString()), notDirectory.getMessage());
        for (long budget : new long[] {0, -5}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> DiskKvTier.open(dir.resolve("tier"), budget));
            assertTrue(e.getMessage().contains("not " + budget + " bytes"), e.getMessage());
        }
        Path unwritable = Path.of("/proc/ultrakv-disk-tier");
        IllegalArgumentException cannotCreate = assertThrows(IllegalArgumentException.class,
                () -> DiskKvTier.open(unwritable, 1 << 20));
        assertTrue(cannotCreate.getMessage().contains(unwritable.toString()), cannotCreate.getMessage());
        assertThrows(IllegalArgumentException.class,
                () -> DiskKvTier.open(dir, DiskTierOptions.of(1 << 20).withReaderThreads(0)));

        Path shared = dir.resolve("shared");
        try (DiskKvTier first = DiskKvTier.open(shared, 1 << 20)) {
            IllegalStateException busy = assertThrows(IllegalStateException.class,
                    () -> DiskKvTier.open(shared, 1 << 20));
            assertTrue(busy.getMessage().contains(shared.toString()), busy.getMessage());
            assertTrue(first.offer(key(0), record(0, 10)));
        }
        try (DiskKvTier again = DiskKvTier.open(shared, 1 << 20)) {
            assertEquals(1, load(again, keys(0, 1)).size(), "closing releases the directory");
        }
    }

    @Test
    void aLengthForgedToTwoGibibytesIsNotAllocated() throws Exception {
        DiskTierOptions options = DiskTierOptions.of(1L << 20);
        int recordBytes = record(0, 1000).length;
        long payloadLengthAt = DiskSegment.HEADER_BYTES + recordBytes + 8 + BlockKey.BYTES + Short.BYTES
                + DiskTierBlocks.NAMESPACE.length();
        for (int forged : new int[] {0x7FFF_FFF0, 0x8000_0000, BlockRecord.MAX_PAYLOAD_BYTES}) {
            try (Stream<Path> old = Files.list(dir)) {
                for (Path p : old.toList()) {
                    Files.delete(p);
                }
            }
            try (DiskKvTier tier = DiskKvTier.open(dir, options)) {
                offerAll(tier, 0, 3, 1000);
            }
            try (RandomAccessFile file = new RandomAccessFile(segmentFiles().getFirst().toFile(), "rw")) {
                file.seek(payloadLengthAt);
                file.writeInt(forged);
            }
            long before = allocatedBytes();
            try (DiskKvTier tier = DiskKvTier.open(dir, options)) {
                long allocated = allocatedBytes() - before;
                assertTrue(allocated < 16 << 20, "open allocated " + allocated + " bytes for length " + forged);
                assertEquals(1, tier.recovery().tornRecords(), "forged length " + Integer.toUnsignedString(forged));
                assertEquals(1, load(tier, keys(0, 3)).size());
            }
        }
    }

    @Test
    void offersAndLoadsAfterCloseAreDropsAndMisses() throws Exception {
        DiskKvTier tier = DiskKvTier.open(dir, 1 << 20);
        offerAll(tier, 0, 2, 100);
        tier.close();
        assertFalse(tier.offer(key(5), record(5, 100)));
        assertEquals(List.of(), load(tier, keys(0, 2)));
        assertEquals(1, tier.stats().droppedWrites());
        tier.close();
    }

    @Test
    void aLoadSlowerThanItsTimeoutCompletesEmptyAndCountsAnError() throws Exception {
        DiskTierOptions options = DiskTierOptions.of(64L << 20).withLoadTimeout(Duration.ofNanos(1000));
        try (DiskKvTier tier = DiskKvTier.open(dir, options)) {
            offerAll(tier, 0, 300, 64 << 10);
            assertEquals(List.of(), load(tier, keys(0, 300)), "19 MiB are not read in a microsecond");
            TierStats stats = tier.stats();
            assertEquals(1, stats.errors());
            assertEquals(1, stats.misses());
            assertEquals(0, stats.hits(), "the late pass counts nothing");
        }
    }

    @Test
    void aRecordThatDoesNotMatchItsKeyIsNotStored() throws Exception {
        try (DiskKvTier tier = DiskKvTier.open(dir, 1 << 20)) {
            assertTrue(tier.offer(key(1), record(2, 100)));
            assertTrue(tier.awaitWrites(WAIT));
            assertEquals(1, tier.stats().errors());
            assertEquals(0, tier.blockCount());
            assertEquals(List.of(), load(tier, keys(1, 2)));
        }
    }

    private static int sizeOf(int i) {
        return 1 + (i * 7919) % 20_000;
    }

    private static List<byte[]> load(DiskKvTier tier, List<BlockKey> keys) throws Exception {
        return tier.loadRun(keys).get(WAIT.toSeconds(), TimeUnit.SECONDS);
    }

    private static void offerAll(DiskKvTier tier, int from, int to, int payloadBytes) throws InterruptedException {
        for (int i = from; i < to; i++) {
            while (!tier.offer(key(i), record(i, payloadBytes))) {
                Thread.sleep(1);
            }
        }
        assertTrue(tier.awaitWrites(WAIT));
    }

    private static void assertRunIs(DiskKvTier tier, int from, int to, int payloadBytes) throws Exception {
        List<byte[]> run = load(tier, keys(from, to));
        assertEquals(to - from, run.size());
        for (int i = from; i < to; i++) {
            assertArrayEquals(record(i, payloadBytes), run.get(i - from), "block " + i);
        }
        assertNull(BlockRecord.problem(run.getFirst(), key(from)));
    }

    private List<Path> segmentFiles() throws IOException {
        try (Stream<Path> files = Files.list(dir)) {
            return files.filter(p -> DiskSegment.idOf(p.getFileName().toString()).isPresent()).sorted().toList();
        }
    }

    private long directoryBytes() throws IOException {
        long bytes = 0;
        for (Path segment : segmentFiles()) {
            bytes += Files.size(segment);
        }
        return bytes;
    }

    private static long allocatedBytes() {
        return ((com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean())
                .getCurrentThreadAllocatedBytes();
    }
}
