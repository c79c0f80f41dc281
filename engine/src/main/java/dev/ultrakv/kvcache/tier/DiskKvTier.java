package dev.ultrakv.kvcache.tier;

import org.HdrHistogram.Histogram;
import org.HdrHistogram.SynchronizedHistogram;

import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.OptionalLong;
import java.util.TreeMap;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * A {@link KvTier} on local disk: blocks in append-only segment files under a byte budget, found again after a
 * restart, with torn and corrupt records read as misses.
 *
 * <h2>On disk</h2>
 * A directory holds a {@code lock} file and segment files {@code segment-<id>.ukvs} (16-digit decimal ids, created
 * in increasing order). A segment is an 8-byte header (magic {@code "UKVS"}, version 1) followed by
 * {@link BlockRecord}s back to back, each exactly as offered: self-describing (key, namespace, payload length) and
 * ending in a CRC-32C. There is no index file: the index (key → segment, offset, length) lives in memory and a
 * restart rebuilds it by walking the record heads of every segment, oldest first, so a key written twice is found
 * at its later copy. That costs one small read per record at open (a 1 GiB directory of 1 MiB blocks: about a
 * thousand reads) and cannot disagree with the segments, which an index file written beside them could after a
 * crash.
 *
 * <h2>Recovery</h2>
 * Records are written whole with positional writes and are not forced to the device one by one: a process killed
 * with {@code kill -9} loses nothing the kernel already has, and tears at most the record being written, the last
 * of the newest segment. Open checks the checksum of the last record of every segment (reading it in small
 * chunks); a torn or unparsable tail is cut off and counted ({@link DiskRecovery#tornRecords()}, and in
 * {@link TierStats#corrupt()}). Earlier records are checked when loaded: one that fails {@link BlockRecord#problem}
 * is counted as corrupt, read as a miss and forgotten (until a restart indexes its frame again and the next load
 * forgets it again; its bytes go with its segment). No length read from a file allocates before it is checked
 * against the file's size and {@link BlockRecord#MAX_PAYLOAD_BYTES}. Writes resume in a new segment after every
 * open. A segment file without a valid header, or that the disk cannot read, is deleted and counted.
 *
 * <h2>Eviction</h2>
 * Whole segments, oldest first (FIFO over the append log): the writer deletes the oldest segment, forgetting its
 * keys, until the next record fits, so the segment files together never exceed {@code maxBytes}. A record larger
 * than the budget is dropped. A block already on disk is not written again, so a block demoted many times costs one
 * copy. FIFO because deleting a whole segment is one unlink with nothing rewritten: every byte is written once, as
 * in a log-structured cache. Keeping hot blocks longer (LRU or second chance over segments) would mean copying the
 * blocks still hit out of a segment before deleting it; the blocks reaching this tier have already been filtered by
 * the memory pool's own eviction, and that rewrite is left until a trace replay shows what it would gain.
 *
 * <h2>Threads</h2>
 * {@link #offer} copies nothing and never blocks: it queues the record (which the caller must not change
 * afterwards) if the queue's byte bound allows, else drops and counts it. One writer thread drains the queue and
 * alone appends, seals, evicts and deletes. {@link #loadRun} hands one pass over its keys to a small pool of reader
 * threads, which read with positional reads (no lock) and complete the future; a timer completes it empty (a miss,
 * counted as an error) if the pass takes longer than the load timeout. A read that races with the eviction of its
 * segment is a miss. Only one tier, in any process, opens a directory at a time: a second open fails with
 * {@link IllegalStateException} (see {@link DirectoryLock}).
 */
public final class DiskKvTier implements KvTier {
    private static final System.Logger LOG = System.getLogger(DiskKvTier.class.getName());
    /** Load latencies are kept to three significant digits (0.1 %), as the engine's own percentiles are. */
    private static final int LATENCY_SIGNIFICANT_DIGITS = 3;
    private static final PendingWrite END_OF_QUEUE = new PendingWrite(null, new byte[0]);
    private static final AtomicInteger TIERS = new AtomicInteger();

    private final Path directory;
    private final DiskTierOptions options;
    private final DirectoryLock lock;
    private final DiskRecovery recovery;
    private final Map<BlockKey, BlockLocation> index = new ConcurrentHashMap<>();
    /** Every segment on disk, oldest first; the last is the one appended to while {@link #active} is set. */
    private final ArrayDeque<DiskSegment> segments = new ArrayDeque<>();
    private final LinkedBlockingQueue<PendingWrite> queue = new LinkedBlockingQueue<>();
    private final AtomicLong queuedBytes = new AtomicLong();
    private final AtomicLong acceptedWrites = new AtomicLong();
    private final AtomicLong finishedWrites = new AtomicLong();
    private final AtomicLong diskBytes = new AtomicLong();
    private final Thread writer;
    private final ExecutorService readers;
    private final ScheduledThreadPoolExecutor timer;
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile boolean abandonQueue;
    private DiskSegment active;
    private long nextSegmentId;

    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final LongAdder blocksWritten = new LongAdder();
    private final LongAdder bytesWritten = new LongAdder();
    private final LongAdder bytesRead = new LongAdder();
    private final LongAdder droppedWrites = new LongAdder();
    private final LongAdder errors = new LongAdder();
    private final LongAdder corrupt = new LongAdder();
    private final Histogram loadNanos = new SynchronizedHistogram(LATENCY_SIGNIFICANT_DIGITS);
    private final RecordArrays arrays = new RecordArrays(RecordArrays.defaultMaxKeptBytes());

    /** A record waiting for the writer thread. */
    private record PendingWrite(BlockKey key, byte[] record) {
    }

    private DiskKvTier(Path directory, DiskTierOptions options, DirectoryLock lock) throws IOException {
        this.directory = directory;
        this.options = options;
        this.lock = lock;
        try {
            this.recovery = recover();
        } catch (IOException | RuntimeException e) {
            for (DiskSegment segment : segments) {
                try {
                    segment.close();
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                }
            }
            throw e;
        }
        int tier = TIERS.incrementAndGet();
        this.writer = Thread.ofPlatform().daemon().name("ultrakv-disk-tier-" + tier + "-writer")
                .unstarted(this::drainQueue);
        ThreadFactory readerThreads = Thread.ofPlatform().daemon().name("ultrakv-disk-tier-" + tier + "-reader-", 0)
                .factory();
        this.readers = Executors.newFixedThreadPool(options.readerThreads(), readerThreads);
        this.timer = new ScheduledThreadPoolExecutor(1, Thread.ofPlatform().daemon()
                .name("ultrakv-disk-tier-" + tier + "-timer").factory());
        timer.setRemoveOnCancelPolicy(true);
        writer.start();
    }

    /** Opens {@code directory} as a disk tier of at most {@code maxBytes}, with {@link DiskTierOptions#of}. */
    public static DiskKvTier open(Path directory, long maxBytes) {
        if (maxBytes <= 0) {
            throw new IllegalArgumentException("disk tier budget for " + directory + " must be positive, not "
                    + maxBytes + " bytes");
        }
        return open(directory, DiskTierOptions.of(maxBytes));
    }

    /**
     * Opens {@code directory} as a disk tier, creating it if needed, and rebuilds the index from the segments an
     * earlier tier left there (cutting off torn tails; evicting the oldest segments if they exceed the budget).
     *
     * @throws IllegalArgumentException if {@code directory} is a file or cannot be created or written
     * @throws IllegalStateException    if another tier, in this process or another, has the directory open
     */
    public static DiskKvTier open(Path directory, DiskTierOptions options) {
        Objects.requireNonNull(directory, "directory");
        Objects.requireNonNull(options, "options");
        if (Files.exists(directory) && !Files.isDirectory(directory)) {
            throw new IllegalArgumentException("disk tier directory " + directory + " is a file, not a directory");
        }
        try {
            Files.createDirectories(directory);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot create disk tier directory " + directory + ": " + e, e);
        }
        if (!Files.isWritable(directory)) {
            throw new IllegalArgumentException("disk tier directory " + directory + " is not writable");
        }
        DirectoryLock lock;
        try {
            lock = DirectoryLock.acquire(directory);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot lock disk tier directory " + directory + ": " + e, e);
        }
        try {
            return new DiskKvTier(directory, options, lock);
        } catch (IOException | RuntimeException e) {
            try {
                lock.close();
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            if (e instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw new IllegalArgumentException("cannot read disk tier directory " + directory + ": " + e, e);
        }
    }

    @Override
    public String name() {
        return "disk";
    }

    /** The directory this tier stores its segments in. */
    public Path directory() {
        return directory;
    }

    /** The options this tier was opened with. */
    public DiskTierOptions options() {
        return options;
    }

    /** What {@link #open} found in the directory. */
    public DiskRecovery recovery() {
        return recovery;
    }

    /** Bytes of the segment files now: headers and records, never more than the budget. */
    public long diskBytes() {
        return diskBytes.get();
    }

    /** Blocks the index holds now. */
    public int blockCount() {
        return index.size();
    }

    /**
     * {@inheritDoc}
     *
     * <p>The record is kept, not copied, until it is written: the caller must not change it. A key already on disk
     * is not written again (and reads as accepted); a record that does not pass {@link BlockRecord#problem} for its
     * key is not written and counts as an error.
     */
    @Override
    public boolean offer(BlockKey key, byte[] record) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(record, "record");
        if (closed.get()) {
            droppedWrites.increment();
            return false;
        }
        if (index.containsKey(key)) {
            return true;
        }
        if (queuedBytes.addAndGet(record.length) > options.queueBytes()) {
            queuedBytes.addAndGet(-record.length);
            droppedWrites.increment();
            return false;
        }
        acceptedWrites.incrementAndGet();
        queue.add(new PendingWrite(key, record));
        return true;
    }

    @Override
    public CompletableFuture<List<byte[]>> loadRun(List<BlockKey> keys) {
        List<BlockKey> wanted = List.copyOf(keys);
        long start = System.nanoTime();
        LoadResult result = new LoadResult();
        if (wanted.isEmpty()) {
            result.complete(List.of());
            return result;
        }
        if (closed.get()) {
            finish(result, List.of(), wanted.size(), start, false);
            return result;
        }
        int size = wanted.size();
        try {
            // The timeout is scheduled first so that the pass, however quick, finds it to cancel: a cancelled
            // timeout leaves the timer's queue at once instead of holding the loaded records until it fires.
            result.timeout = timer.schedule(() -> {
                if (finish(result, List.of(), size, start, true)) {
                    LOG.log(System.Logger.Level.DEBUG, () -> "disk tier load of " + size + " blocks in "
                            + directory + " timed out after " + options.loadTimeout());
                }
            }, options.loadTimeout().toNanos(), TimeUnit.NANOSECONDS);
            readers.execute(() -> finish(result, readRun(wanted, result), size, start, false));
        } catch (RejectedExecutionException e) {
            finish(result, List.of(), size, start, false);
        }
        return result;
    }

    /**
     * Waits until every offer accepted so far has been written (or dropped by a failure).
     *
     * @return false if {@code timeout} passed first
     */
    public boolean awaitWrites(Duration timeout) throws InterruptedException {
        long target = acceptedWrites.get();
        long deadline = System.nanoTime() + timeout.toNanos();
        while (finishedWrites.get() < target) {
            if (System.nanoTime() - deadline >= 0 || !writer.isAlive()) {
                return finishedWrites.get() >= target;
            }
            Thread.sleep(1);
        }
        return true;
    }

    @Override
    public void recycle(byte[] record) {
        arrays.give(record);
    }

    @Override
    public TierStats stats() {
        long p50;
        long p99;
        synchronized (loadNanos) {
            boolean empty = loadNanos.getTotalCount() == 0;
            p50 = empty ? 0 : loadNanos.getValueAtPercentile(50);
            p99 = empty ? 0 : loadNanos.getValueAtPercentile(99);
        }
        return new TierStats(name(), hits.sum(), misses.sum(), blocksWritten.sum(), bytesWritten.sum(),
                bytesRead.sum(), droppedWrites.sum(), errors.sum(), corrupt.sum(), Duration.ofNanos(p50),
                Duration.ofNanos(p99));
    }

    /**
     * Stops taking offers, lets the writer finish the queue for up to the close timeout (the rest is dropped and
     * counted), stops the readers (loads in flight complete empty by their timeout) and releases the directory.
     */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        queue.add(END_OF_QUEUE);
        try {
            writer.join(options.closeTimeout());
            if (writer.isAlive()) {
                abandonQueue = true;
                writer.join(options.closeTimeout());
            }
        } catch (InterruptedException e) {
            abandonQueue = true;
            Thread.currentThread().interrupt();
        }
        if (writer.isAlive()) {
            LOG.log(System.Logger.Level.WARNING, "disk tier writer for " + directory + " is stuck in a write;"
                    + " closing without it");
        } else {
            for (PendingWrite left; (left = queue.poll()) != null; ) {
                if (left != END_OF_QUEUE) {
                    droppedWrites.increment();
                    finishedWrites.incrementAndGet();
                }
            }
        }
        readers.shutdown();
        try {
            readers.awaitTermination(options.loadTimeout().toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        // Timeouts already scheduled still fire after shutdown, so a load in flight completes empty in time.
        timer.shutdown();
        synchronized (segments) {
            for (DiskSegment segment : segments) {
                try {
                    if (segment == active) {
                        segment.force();
                    }
                    segment.close();
                } catch (IOException e) {
                    errors.increment();
                    LOG.log(System.Logger.Level.WARNING, "closing " + segment.path() + ": " + e);
                }
            }
        }
        try {
            lock.close();
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, "releasing the lock of " + directory + ": " + e);
        }
    }

    @Override
    public String toString() {
        return "disk tier " + directory + " (" + index.size() + " blocks, " + diskBytes.get() + " of "
                + options.maxBytes() + " bytes)";
    }

    /** Rebuilds the index from the segment files, oldest first, and brings the directory within budget. */
    private DiskRecovery recover() throws IOException {
        TreeMap<Long, Path> files = new TreeMap<>();
        try (DirectoryStream<Path> entries = Files.newDirectoryStream(directory)) {
            for (Path entry : entries) {
                OptionalLong id = DiskSegment.idOf(entry.getFileName().toString());
                if (id.isPresent() && Files.isRegularFile(entry)) {
                    files.put(id.getAsLong(), entry);
                }
            }
        }
        long records = 0;
        long torn = 0;
        long truncated = 0;
        int discarded = 0;
        for (Map.Entry<Long, Path> file : files.entrySet()) {
            DiskSegment segment = DiskSegment.open(file.getValue(), file.getKey());
            try {
                if (!segment.hasValidHeader()) {
                    // A header is written right after the file is created: a missing one is a crash in between, a
                    // foreign one is not ours to read. Neither holds a block this tier could trust.
                    LOG.log(System.Logger.Level.WARNING, "deleting segment " + segment.path() + " of "
                            + segment.size() + " bytes without a valid header");
                    segment.delete();
                    discarded++;
                    continue;
                }
                SegmentScanner.SegmentScan scan = SegmentScanner.scan(segment, (key, offset, length) -> {
                    index.put(key, new BlockLocation(segment, offset, length));
                    segment.keys().add(key);
                });
                if (scan.torn()) {
                    torn++;
                    truncated += scan.truncatedBytes();
                    LOG.log(System.Logger.Level.INFO, "cut off a torn tail of " + scan.truncatedBytes()
                            + " bytes: " + scan.tornReason());
                }
                records += scan.records();
            } catch (IOException e) {
                // A segment the disk cannot read is a lost part of a cache, not a reason to refuse the rest.
                errors.increment();
                LOG.log(System.Logger.Level.WARNING, "deleting unreadable segment " + segment.path() + ": " + e);
                for (BlockKey key : segment.keys()) {
                    index.computeIfPresent(key, (k, location) -> location.segment() == segment ? null : location);
                }
                deleteQuietly(segment);
                discarded++;
                continue;
            }
            segments.addLast(segment);
            diskBytes.addAndGet(segment.size());
        }
        nextSegmentId = files.isEmpty() ? 1 : files.lastKey() + 1;
        corrupt.add(torn);
        int kept = segments.size();
        while (diskBytes.get() > options.maxBytes() && !segments.isEmpty()) {
            evictOldest();
            kept--;
        }
        return new DiskRecovery(kept, records, torn, truncated, discarded);
    }

    private void deleteQuietly(DiskSegment segment) {
        try {
            segment.delete();
        } catch (IOException e) {
            errors.increment();
            LOG.log(System.Logger.Level.WARNING, "disk tier could not delete " + segment.path() + ": " + e);
        }
    }

    /** The writer thread: appends queued records until the end-of-queue marker. */
    private void drainQueue() {
        while (true) {
            PendingWrite write;
            try {
                write = queue.take();
            } catch (InterruptedException e) {
                return;
            }
            if (write == END_OF_QUEUE) {
                return;
            }
            queuedBytes.addAndGet(-write.record().length);
            try {
                if (abandonQueue) {
                    droppedWrites.increment();
                } else {
                    store(write.key(), write.record());
                }
            } catch (RuntimeException e) {
                errors.increment();
                LOG.log(System.Logger.Level.ERROR, "disk tier writer for " + directory + " failed a write", e);
            } finally {
                finishedWrites.incrementAndGet();
            }
        }
    }

    /** Appends one record, rolling to a new segment and evicting old ones as needed (writer thread). */
    private void store(BlockKey key, byte[] record) {
        if (index.containsKey(key)) {
            return;
        }
        String problem = BlockRecord.problem(record, key);
        if (problem != null) {
            errors.increment();
            LOG.log(System.Logger.Level.WARNING, "disk tier refused a record for block " + key + ": " + problem);
            return;
        }
        int length = record.length;
        if ((long) length + DiskSegment.HEADER_BYTES > options.maxBytes()) {
            droppedWrites.increment();
            return;
        }
        try {
            if (active != null && active.size() > DiskSegment.HEADER_BYTES
                    && active.size() + length > options.segmentBytes()) {
                seal();
            }
            while (diskBytes.get() + length + (active == null ? DiskSegment.HEADER_BYTES : 0) > options.maxBytes()) {
                evictOldest();
            }
            if (active == null) {
                DiskSegment created = DiskSegment.create(directory, nextSegmentId++);
                synchronized (segments) {
                    segments.addLast(created);
                }
                active = created;
                diskBytes.addAndGet(DiskSegment.HEADER_BYTES);
            }
            long offset = active.append(key, record);
            diskBytes.addAndGet(length);
            index.put(key, new BlockLocation(active, offset, length));
            blocksWritten.increment();
            bytesWritten.add(length);
        } catch (IOException e) {
            errors.increment();
            LOG.log(System.Logger.Level.WARNING, "disk tier could not write block " + key + " to " + directory
                    + ": " + e);
        }
    }

    /** Stops appending to the active segment; the next record starts a new one (writer thread). */
    private void seal() {
        active = null;
    }

    /** Deletes the oldest segment and forgets the keys whose latest copy it held (writer thread, or open). */
    private void evictOldest() {
        DiskSegment oldest;
        synchronized (segments) {
            oldest = segments.pollFirst();
        }
        if (oldest == null) {
            return;
        }
        if (oldest == active) {
            active = null;
        }
        for (BlockKey key : oldest.keys()) {
            index.computeIfPresent(key, (k, location) -> location.segment() == oldest ? null : location);
        }
        diskBytes.addAndGet(-oldest.size());
        deleteQuietly(oldest);
    }

    /**
     * One pass over {@code keys}: the records of the leading run found sound (a reader thread). It stops early once
     * {@code result} has timed out, since nobody waits for it any more.
     */
    private List<byte[]> readRun(List<BlockKey> keys, LoadResult result) {
        List<byte[]> run = new ArrayList<>(keys.size());
        for (BlockKey key : keys) {
            if (result.settled.get()) {
                break;
            }
            BlockLocation location = index.get(key);
            if (location == null) {
                break;
            }
            byte[] record = arrays.take(location.length());
            try {
                location.segment().read(location.offset(), record);
            } catch (IOException e) {
                arrays.give(record);
                if (!location.segment().isDeleted() && !closed.get()) {
                    errors.increment();
                    LOG.log(System.Logger.Level.WARNING, "disk tier could not read block " + key + " from "
                            + location.segment().path() + ": " + e);
                }
                break;
            }
            bytesRead.add(record.length);
            String problem = BlockRecord.problem(record, key);
            if (problem != null) {
                corrupt.increment();
                arrays.give(record);
                index.remove(key, location);
                LOG.log(System.Logger.Level.WARNING, "disk tier forgets corrupt block " + key + " at "
                        + location.offset() + " of " + location.segment().path() + ": " + problem);
                break;
            }
            run.add(record);
        }
        return run;
    }

    /**
     * Completes {@code result} with {@code run} (of {@code wanted} keys asked for) unless it is complete already, and
     * counts the outcome first, so a caller that sees the result sees it counted: a hit per record, a miss if the run
     * stopped short, an error if it timed out, the latency.
     *
     * @return whether this call completed it
     */
    private boolean finish(LoadResult result, List<byte[]> run, int wanted, long start, boolean timedOut) {
        if (!result.settled.compareAndSet(false, true)) {
            return false;
        }
        ScheduledFuture<?> timeout = result.timeout;
        if (timeout != null && !timedOut) {
            timeout.cancel(false);
        }
        if (timedOut) {
            errors.increment();
        }
        hits.add(run.size());
        if (run.size() < wanted) {
            misses.increment();
        }
        loadNanos.recordValue(Math.max(0, System.nanoTime() - start));
        result.complete(run);
        return true;
    }

    /** A load's future, settled once by whichever comes first: its pass or its timeout. */
    private static final class LoadResult extends CompletableFuture<List<byte[]>> {
        private final AtomicBoolean settled = new AtomicBoolean();
        private volatile ScheduledFuture<?> timeout;
    }
}
