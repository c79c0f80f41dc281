package dev.ultrakv.kvcache.tier;

import java.nio.file.Path;
import java.util.concurrent.locks.LockSupport;

/**
 * A separate JVM for {@link DiskKvTierTest}: writes blocks 0, 1, 2, ... into a disk tier at {@code args[0]} for
 * ever, retrying a dropped offer, and prints {@code writing} once the first block is on disk, so the test can kill it
 * in the middle of its writes.
 */
public final class DiskTierWriterMain {
    /** Payload bytes of every block: large enough that a kill often lands inside a write. */
    static final int PAYLOAD_BYTES = 48 << 10;
    /** Pause between offers, so a half-second run writes megabytes, not gigabytes. */
    private static final long PAUSE_NANOS = 100_000;

    private DiskTierWriterMain() {
    }

    public static void main(String[] args) throws InterruptedException {
        DiskKvTier tier = DiskKvTier.open(Path.of(args[0]), 1L << 30);
        boolean announced = false;
        for (int i = 0; ; i++) {
            byte[] record = DiskTierBlocks.record(i, PAYLOAD_BYTES);
            while (!tier.offer(DiskTierBlocks.key(i), record)) {
                LockSupport.parkNanos(PAUSE_NANOS);
            }
            if (!announced && tier.stats().blocksWritten() > 0) {
                System.out.println("writing");
                System.out.flush();
                announced = true;
            }
            LockSupport.parkNanos(PAUSE_NANOS);
        }
    }
}
