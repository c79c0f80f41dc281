package dev.ultrakv.kvcache.tier;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import org.HdrHistogram.Histogram;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;

/**
 * Measures {@link RedisKvTier#loadRun} latency for runs of records of 1 MiB against a redis-server it starts on
 * loopback, beside a bare Lettuce {@code MGET} of the same keys in the same run (so the tier's own cost reads as a
 * ratio even on a busy machine). Not a test: run it by hand, see BENCHMARKS.md.
 *
 * <p>Arguments: iterations per case (default 200), then the run lengths (default 1 and 16; a 1024-token prompt
 * of llama-110m's float32 blocks is a run of 64 records of 1.18 MB).
 */
public final class RedisTierLatency {
    private static final String NAMESPACE = "latency | FLOAT32 blocks of 16";
    private static final int PAYLOAD_BYTES = 1 << 20;

    private RedisTierLatency() {
    }

    public static void main(String[] args) throws Exception {
        int iterations = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        int[] runs = args.length > 1
                ? java.util.Arrays.stream(args, 1, args.length).mapToInt(Integer::parseInt).toArray()
                : new int[] {1, 16};
        int longest = java.util.Arrays.stream(runs).max().orElseThrow();
        Path directory = Files.createTempDirectory("redis-tier-latency");
        try (RedisServerProcess server = RedisServerProcess.start(directory);
             RedisKvTier tier = RedisKvTier.connect(server.uri(),
                     RedisTierOptions.defaults().withCommandTimeout(Duration.ofSeconds(2)))) {
            RedisClient rawClient = RedisClient.create(server.uri());
            try (StatefulRedisConnection<byte[], byte[]> raw = rawClient.connect(ByteArrayCodec.INSTANCE)) {
                List<BlockKey> keys = TierTestBlocks.keys(NAMESPACE, 1, longest);
                for (BlockKey key : keys) {
                    tier.offer(key, TierTestBlocks.record(NAMESPACE, key, PAYLOAD_BYTES));
                }
                TierTestBlocks.awaitWritten(tier, keys.size());
                System.out.printf("%-8s %-12s %10s %10s %10s%n", "records", "path", "p50 ms", "p99 ms", "mean ms");
                for (int run : runs) {
                    List<BlockKey> slice = keys.subList(0, run);
                    byte[][] redisKeys = slice.stream().map(RedisTierLatency::redisKey).toArray(byte[][]::new);
                    Histogram tierNanos = new Histogram(3);
                    Histogram rawNanos = new Histogram(3);
                    for (int i = -iterations / 4; i < iterations; i++) {
                        long start = System.nanoTime();
                        if (tier.loadRun(slice).join().size() != run) {
                            throw new IllegalStateException("the tier missed a block: " + tier.stats());
                        }
                        long middle = System.nanoTime();
                        if (raw.async().mget(redisKeys).get().size() != run) {
                            throw new IllegalStateException("MGET answered short");
                        }
                        long end = System.nanoTime();
                        if (i >= 0) {
                            tierNanos.recordValue(middle - start);
                            rawNanos.recordValue(end - middle);
                        }
                    }
                    print(run, "tier loadRun", tierNanos);
                    print(run, "bare MGET", rawNanos);
                }
            } finally {
                rawClient.shutdown(Duration.ZERO, Duration.ofSeconds(2));
            }
        }
    }

    private static void print(int run, String path, Histogram nanos) {
        System.out.printf("%-8d %-12s %10.3f %10.3f %10.3f%n", run, path, nanos.getValueAtPercentile(50) / 1e6,
                nanos.getValueAtPercentile(99) / 1e6, nanos.getMean() / 1e6);
    }

    private static byte[] redisKey(BlockKey key) {
        byte[] prefix = (RedisTierOptions.DEFAULT_KEY_PREFIX + ":").getBytes(java.nio.charset.StandardCharsets.UTF_8);
        byte[] redisKey = new byte[prefix.length + BlockKey.BYTES];
        System.arraycopy(prefix, 0, redisKey, 0, prefix.length);
        key.copyTo(redisKey, prefix.length);
        return redisKey;
    }
}
