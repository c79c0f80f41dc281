package dev.ultrakv.kvcache.tier;

import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * A store for KV blocks below the memory pool (local disk, Redis): blocks leave memory as {@link BlockRecord}s
 * keyed by their {@link BlockKey} and come back as the same records. The memory pool and its prefix index stay the
 * first tier; an engine asks its tiers, in order, for the blocks after its memory-resident prefix.
 *
 * <p>Contract:
 * <ul>
 *   <li>Neither method blocks its caller on I/O: the step loop calls them. Writes are queued and done on the
 *       tier's own threads; a full queue drops the write (counted), it never waits.</li>
 *   <li>Every failure (I/O error, timeout, a server that is down, a corrupt record) is counted in
 *       {@link #stats()} and reads as a miss; a load's future always completes normally, within the tier's
 *       timeout.</li>
 *   <li>A loaded record has been checked with {@link BlockRecord#problem} against its key; a record that fails the
 *       check is counted as corrupt and is a miss (and the tier forgets it).</li>
 *   <li>Thread-safe: a tier may be shared by engines in one process.</li>
 * </ul>
 */
public interface KvTier extends AutoCloseable {
    /** A short name for stats and logs: {@code "disk"}, {@code "redis"}. */
    String name();

    /**
     * Queues {@code record} (of the block {@code key}) to be stored and returns at once.
     *
     * @return false if the write was dropped (queue full, tier closed or down)
     */
    boolean offer(BlockKey key, byte[] record);

    /**
     * Looks up {@code keys} (consecutive blocks of one prefix) in one batched round trip and completes with the
     * records of the leading run found: element {@code i} is the record of {@code keys.get(i)}, and the list stops
     * at the first key missing, failed or corrupt.
     */
    CompletableFuture<List<byte[]>> loadRun(List<BlockKey> keys);

    /**
     * Takes back a record this tier returned from {@link #loadRun} once the caller has copied what it needed: the
     * tier may read a later record into the same array. The caller does not touch {@code record} afterwards. A
     * record never given back is simply collected. The default keeps nothing.
     */
    default void recycle(byte[] record) {
    }

    /** What this tier has done so far. */
    TierStats stats();

    /** Finishes or drops the queued writes (bounded wait) and frees the tier's threads and connections. */
    @Override
    void close();
}
