package dev.ultrakv.bench.suite;

import dev.ultrakv.kvcache.tier.TierStats;

/**
 * One KV tier's counters at the end of one engine's run, as the results file holds them (latencies in
 * milliseconds, so that the JSON needs no time types).
 *
 * @param tier          the tier's name ({@code disk}, {@code redis})
 * @param hits          blocks found by loads
 * @param misses        blocks asked for and not found
 * @param blocksWritten blocks stored
 * @param bytesWritten  record bytes stored
 * @param bytesRead     record bytes loaded
 * @param droppedWrites writes dropped because the queue was full or the tier down
 * @param errors        failed operations (I/O errors, timeouts, connection failures)
 * @param corrupt       records that failed their check and read as misses
 * @param loadP50Ms     median time of one batched load, milliseconds
 * @param loadP99Ms     99th percentile of it
 */
public record TierFigures(String tier, long hits, long misses, long blocksWritten, long bytesWritten,
                          long bytesRead, long droppedWrites, long errors, long corrupt, double loadP50Ms,
                          double loadP99Ms) {

    /** The figures of {@code stats}. */
    static TierFigures of(TierStats stats) {
        return new TierFigures(stats.tier(), stats.hits(), stats.misses(), stats.blocksWritten(),
                stats.bytesWritten(), stats.bytesRead(), stats.droppedWrites(), stats.errors(), stats.corrupt(),
                stats.loadP50().toNanos() / 1e6, stats.loadP99().toNanos() / 1e6);
    }
}
