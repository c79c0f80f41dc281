package dev.ultrakv.kvcache.tier;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * The other engine of {@link RedisKvTierPeerJvmTest}, run as a separate JVM: loads the blocks the test's JVM
 * wrote, checks them byte for byte, then writes blocks of its own for the test to find.
 *
 * <p>Arguments: the Redis URI, the seed of the blocks to read, the seed of the blocks to write, the block count.
 * Prints {@code hits=N} and exits 0; any other outcome exits non-zero.
 */
public final class RedisTierPeer {
    static final String NAMESPACE = "model-p | Q4 blocks of 4";
    static final int PAYLOAD_BYTES = 8192;
    /** A generous timeout: two JVMs start at once on a shared build machine. */
    static final RedisTierOptions OPTIONS = RedisTierOptions.defaults().withCommandTimeout(Duration.ofSeconds(2));

    private RedisTierPeer() {
    }

    public static void main(String[] args) throws Exception {
        String uri = args[0];
        long readSeed = Long.parseLong(args[1]);
        long writeSeed = Long.parseLong(args[2]);
        int count = Integer.parseInt(args[3]);
        try (RedisKvTier tier = RedisKvTier.connect(uri, OPTIONS)) {
            List<BlockKey> theirs = TierTestBlocks.keys(NAMESPACE, readSeed, count);
            List<byte[]> loaded = tier.loadRun(theirs).get(5, TimeUnit.SECONDS);
            for (int i = 0; i < loaded.size(); i++) {
                if (!java.util.Arrays.equals(loaded.get(i),
                        TierTestBlocks.record(NAMESPACE, theirs.get(i), PAYLOAD_BYTES))) {
                    System.out.println("block " + i + " differs");
                    System.exit(2);
                }
            }
            System.out.println("hits=" + loaded.size());
            List<BlockKey> mine = TierTestBlocks.keys(NAMESPACE, writeSeed, count);
            for (BlockKey key : mine) {
                if (!tier.offer(key, TierTestBlocks.record(NAMESPACE, key, PAYLOAD_BYTES))) {
                    System.out.println("offer dropped");
                    System.exit(3);
                }
            }
            TierTestBlocks.awaitWritten(tier, count);
        }
    }
}
