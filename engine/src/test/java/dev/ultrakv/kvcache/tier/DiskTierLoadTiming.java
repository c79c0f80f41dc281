package dev.ultrakv.kvcache.tier;

import org.HdrHistogram.Histogram;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;

/**
 * Times {@link DiskKvTier#loadRun} of one 1 MiB record (a 16-token float32 block of a 110M model) from a warm page
 * cache, as the caller sees it (future completed), and of a 16-block run. Not a test: run it with the test
 * classpath, {@code java -cp ... dev.ultrakv.kvcache.tier.DiskTierLoadTiming [directory]}.
 */
public final class DiskTierLoadTiming {
    private static final int BLOCKS = 64;
    private static final int PAYLOAD_BYTES = 1 << 20;
    private static final int WARMUP = 2_000;
    private static final int MEASURED = 5_000;

    private DiskTierLoadTiming() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = args.length > 0 ? Path.of(args[0]) : Files.createTempDirectory("ultrakv-disk-timing");
        try (DiskKvTier tier = DiskKvTier.open(dir, 1L << 30)) {
            for (int i = 0; i < BLOCKS; i++) {
                tier.offer(DiskTierBlocks.key(i), DiskTierBlocks.record(i, PAYLOAD_BYTES));
                tier.awaitWrites(java.time.Duration.ofSeconds(10));
            }
            Random random = new Random(1);
            time(tier, random, 1, WARMUP);
            Histogram one = time(tier, random, 1, MEASURED);
            Histogram run = time(tier, random, 16, MEASURED / 10);
            System.out.printf("directory %s%n", dir);
            report("1 block of 1 MiB", one);
            report("16 blocks of 1 MiB", run);
            TierStats stats = tier.stats();
            System.out.printf("tier's own load p50 %d us, p99 %d us, errors %d%n",
                    stats.loadP50().toNanos() / 1000, stats.loadP99().toNanos() / 1000, stats.errors());
        }
    }

    private static Histogram time(DiskKvTier tier, Random random, int runBlocks, int loads) throws Exception {
        Histogram nanos = new Histogram(3);
        for (int n = 0; n < loads; n++) {
            int from = random.nextInt(BLOCKS - runBlocks + 1);
            List<BlockKey> keys = DiskTierBlocks.keys(from, from + runBlocks);
            long start = System.nanoTime();
            List<byte[]> records = tier.loadRun(keys).get(10, TimeUnit.SECONDS);
            nanos.recordValue(System.nanoTime() - start);
            if (records.size() != runBlocks) {
                throw new IllegalStateException("run of " + records.size() + " of " + runBlocks);
            }
        }
        return nanos;
    }

    private static void report(String what, Histogram nanos) {
        System.out.printf("%s: p50 %d us, p99 %d us, mean %.0f us over %d loads%n", what,
                nanos.getValueAtPercentile(50) / 1000, nanos.getValueAtPercentile(99) / 1000,
                nanos.getMean() / 1000, nanos.getTotalCount());
    }
}
