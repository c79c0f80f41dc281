package dev.ultrakv.kvcache.tier;

import java.time.Duration;

/**
 * Counters of one {@link KvTier}.
 *
 * @param tier          the tier's {@link KvTier#name()}
 * @param hits          blocks found by loads
 * @param misses        blocks asked for and not found (a run stops at the first; only that one counts)
 * @param blocksWritten blocks stored
 * @param bytesWritten  record bytes stored
 * @param bytesRead     record bytes loaded
 * @param droppedWrites writes dropped because the queue was full or the tier down
 * @param errors        failed operations (I/O errors, timeouts, connection failures)
 * @param corrupt       records that failed their check and read as misses
 * @param loadP50       median time of a {@link KvTier#loadRun} (zero when none)
 * @param loadP99       99th percentile of it
 */
public record TierStats(String tier, long hits, long misses, long blocksWritten, long bytesWritten, long bytesRead,
                        long droppedWrites, long errors, long corrupt, Duration loadP50, Duration loadP99) {
}
