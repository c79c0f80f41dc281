package dev.ultrakv.kvcache.tier;

import java.time.Duration;

/**
 * How a {@link DiskKvTier} sizes itself. {@link #of(long)} gives the defaults for a byte budget; the withers change
 * one setting each.
 *
 * @param maxBytes      the budget: the segment files together never exceed it
 * @param segmentBytes  size at which the active segment is sealed and a new one started; the unit of eviction
 * @param queueBytes    record bytes that may wait for the writer thread; an offer beyond it is dropped
 * @param readerThreads threads that serve loads (one {@code loadRun} is one pass on one of them)
 * @param loadTimeout   a load's future completes (empty, counted as an error) if its pass takes longer
 * @param closeTimeout  how long {@link DiskKvTier#close()} lets the writer finish the queue before dropping the rest
 */
public record DiskTierOptions(long maxBytes, long segmentBytes, long queueBytes, int readerThreads,
                              Duration loadTimeout, Duration closeTimeout) {
    /** Largest default segment: 64 MiB, so that deleting one is a single cheap unlink and a restart opens few files. */
    public static final long MAX_DEFAULT_SEGMENT_BYTES = 64L << 20;
    /** Smallest default segment: 1 MiB, one 16-token float32 block of a 110M model. */
    public static final long MIN_DEFAULT_SEGMENT_BYTES = 1L << 20;
    /**
     * Eviction frees a whole segment, so a default segment is at most this fraction of the budget: 1/16 keeps at
     * least 15/16 of the budget holding blocks.
     */
    public static final int SEGMENTS_PER_BUDGET = 16;
    /** Default write queue: 64 MiB of records (64 float32 blocks of a 110M model) may wait for the disk. */
    public static final long DEFAULT_QUEUE_BYTES = 64L << 20;
    /** Default reader threads: two, so one slow pass does not hold up every load. */
    public static final int DEFAULT_READER_THREADS = 2;
    /** Default load timeout: a second, long past a page-cache read and short beside a recomputed prefill. */
    public static final Duration DEFAULT_LOAD_TIMEOUT = Duration.ofSeconds(1);
    /** Default close wait: five seconds to finish writing what is queued. */
    public static final Duration DEFAULT_CLOSE_TIMEOUT = Duration.ofSeconds(5);

    /** Checks every setting, naming the one that is wrong. */
    public DiskTierOptions {
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("disk tier budget must be positive, not " + maxBytes + " bytes");
        }
        if (segmentBytes <= 0) {
            throw new IllegalArgumentException("disk tier segment size must be positive, not " + segmentBytes);
        }
        if (queueBytes <= 0) {
            throw new IllegalArgumentException("disk tier queue must be positive, not " + queueBytes + " bytes");
        }
        if (readerThreads <= 0) {
            throw new IllegalArgumentException("disk tier needs at least one reader thread, not " + readerThreads);
        }
        if (loadTimeout == null || loadTimeout.isNegative() || loadTimeout.isZero()) {
            throw new IllegalArgumentException("disk tier load timeout must be positive, not " + loadTimeout);
        }
        if (closeTimeout == null || closeTimeout.isNegative()) {
            throw new IllegalArgumentException("disk tier close timeout must not be negative, not " + closeTimeout);
        }
    }

    /**
     * The defaults for a budget of {@code maxBytes}: segments of a sixteenth of the budget between 1 and 64 MiB,
     * a 64 MiB write queue, two reader threads, a 1 s load timeout and a 5 s close wait.
     */
    public static DiskTierOptions of(long maxBytes) {
        long segment = Math.clamp(maxBytes / SEGMENTS_PER_BUDGET, MIN_DEFAULT_SEGMENT_BYTES,
                MAX_DEFAULT_SEGMENT_BYTES);
        return new DiskTierOptions(maxBytes, segment, DEFAULT_QUEUE_BYTES, DEFAULT_READER_THREADS,
                DEFAULT_LOAD_TIMEOUT, DEFAULT_CLOSE_TIMEOUT);
    }

    /** These options with segments of {@code bytes}. */
    public DiskTierOptions withSegmentBytes(long bytes) {
        return new DiskTierOptions(maxBytes, bytes, queueBytes, readerThreads, loadTimeout, closeTimeout);
    }

    /** These options with a write queue of {@code bytes}. */
    public DiskTierOptions withQueueBytes(long bytes) {
        return new DiskTierOptions(maxBytes, segmentBytes, bytes, readerThreads, loadTimeout, closeTimeout);
    }

    /** These options with {@code threads} reader threads. */
    public DiskTierOptions withReaderThreads(int threads) {
        return new DiskTierOptions(maxBytes, segmentBytes, queueBytes, threads, loadTimeout, closeTimeout);
    }

    /** These options with a load timeout of {@code timeout}. */
    public DiskTierOptions withLoadTimeout(Duration timeout) {
        return new DiskTierOptions(maxBytes, segmentBytes, queueBytes, readerThreads, timeout, closeTimeout);
    }

    /** These options with a close wait of {@code timeout}. */
    public DiskTierOptions withCloseTimeout(Duration timeout) {
        return new DiskTierOptions(maxBytes, segmentBytes, queueBytes, readerThreads, loadTimeout, timeout);
    }
}
