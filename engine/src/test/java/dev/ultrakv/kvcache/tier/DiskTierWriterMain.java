package dev.ultrakv.kvcache.tier;

import java.nio.file.Path;
import java.util.concurrent.locks.LockSupport;

/**
 * A separate JVM for {@link DiskKvTierTest}: writes 8 MiB blocks 0, 1, 2, ... into a disk tier at {@code args[0]}
 * as fast as it can, retrying a dropped offer, and prints {@code writing} once the first block is on disk, so the
 * test can kill it in the middle of its writes (about one kill in three lands inside a write and tears a record).
 */
public final class DiskTierWriterMain {
    /** Payload bytes of every block: 8 MiB, so that the writer spends much of its time inside a write. */
    static final int PAYLOAD_BYTES = 8 << 20;
    /** The payload every block shares but for its number. */
    static final byte[] PATTERN = DiskTierBlocks.payload(-1, PAYLOAD_BYTES);
    /** A budget no run of the test fills, so every block written stays: the blocks on disk are a prefix. */
    static final long BUDGET_BYTES = 16L << 30;
    /** Pause before retrying a dropped offer. */
    private static final long PAUSE_NANOS = 100_000;

    private DiskTierWriterMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        DiskKvTier tier = DiskKvTier.open(Path.of(args[0]), BUDGET_BYTES);
        boolean announced = false;
        for (int i = 0; ; i++) {
            byte[] record = DiskTierBlocks.stampedRecord(i, PATTERN);
            while (!tier.offer(DiskTierBlocks.key(i), record)) {
                LockSupport.parkNanos(PAUSE_NANOS);
            }
            if (!announced && tier.stats().blocksWritten() > 0) {
                System.out.println("writing");
                System.out.flush();
                announced = true;
            }
        }
    }
}
