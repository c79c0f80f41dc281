package dev.ultrakv.kvcache.tier;

import io.lettuce.core.ClientOptions;
import io.lettuce.core.KeyValue;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SetArgs;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.DefaultClientResources;
import org.HdrHistogram.ConcurrentHistogram;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

/**
 * A {@link KvTier} in Redis (or a server that speaks its protocol, such as Valkey): every engine pointed at the
 * same server and key prefix shares every block one of them wrote.
 *
 * <p>A block is the binary key {@code prefix + ":"} + its 32 digest bytes and the value its {@link BlockRecord}.
 * Writes go into a bounded queue (blocks and bytes) that the tier's own thread drains in pipelined batches of
 * {@code SET} (with {@code PX} when a TTL is set); a load reads the run's keys as a few small {@code MGET}s at a
 * time ({@link WindowedMget}: one large reply is slow to build on the server), stopping at the first missing key,
 * and returns the leading run of sound records. A value that fails {@link BlockRecord#problem}, or is longer than
 * {@link RedisTierOptions#maxRecordBytes()}, counts as corrupt, is a miss and is deleted.
 *
 * <h2>Why Lettuce</h2>
 * Lettuce is asynchronous on Netty: {@link #loadRun} returns a future its replies complete, so the step loop never
 * waits and no thread is parked per call; a batch of writes is queued on a connection and flushed as one pipeline;
 * and a command timeout bounds every call. Jedis is blocking: each of those would take a pool of threads and
 * connections.
 *
 * <h2>Outages</h2>
 * Redis being down or slow never fails a caller: loads complete as misses and offers are dropped, both counted as
 * errors (a dropped write also as a dropped write). The tier logs once when it loses the server and once when it
 * is back (a server that keeps flapping: at most one warning in 30 s). While it is unreachable it does not send commands; its writer thread probes with {@code PING}, or
 * connects again when the connections are lost (pausing 100 ms, doubling to at most a second), so a server that
 * comes back is used again without recreating the tier.
 *
 * <p>An offered record is kept, not copied, until it is written: the caller hands the array over.
 *
 * <p>Two connections: loads on one (flushed at once), the writer's batches on the other (flushed per batch), so a
 * large write batch never sits in front of a load on the same socket.
 */
public final class RedisKvTier implements KvTier {
    private static final System.Logger LOG = System.getLogger(RedisKvTier.class.getName());
    /** How often the writer wakes while idle, and probes while the server is unreachable. */
    private static final Duration PROBE_INTERVAL = Duration.ofMillis(100);
    /** Bound on one connection attempt; only the tier's own thread (and {@link #connect}) waits for it. */
    private static final Duration CONNECT_TIMEOUT = Duration.ofSeconds(1);
    /** Longest pause between connection attempts: a server that is back is used within about a second. */
    private static final Duration MAX_RECONNECT_DELAY = Duration.ofSeconds(1);
    /** Most blocks in one pipelined batch of writes. */
    private static final int MAX_BATCH_BLOCKS = 64;
    /**
     * A batch stops growing once it holds this many bytes (two blocks of 1.2 MB). Lettuce times a command from when
     * it is queued, so the last SET of a pipelined batch waits for every one before it within its own timeout, and
     * a redis-server taking in memory it has not touched yet is slow. 256 blocks of 1.2 MB written into an empty
     * Redis on this project's 2-core VM, three times each: 8 MiB batches dropped 10-12 writes in two runs (a late
     * SET timed out at 200 ms, which also marked the server down for a moment), 2 MiB batches none.
     */
    private static final long MAX_BATCH_BYTES = 2L << 20;
    /** Commands a connection buffers before refusing more (loads from many callers at once). */
    private static final int REQUEST_QUEUE_SIZE = 4096;
    /** How long {@link #close} lets the writer finish the queue. */
    private static final Duration CLOSE_WAIT = Duration.ofSeconds(2);
    /** Shortest time between two outage warnings: a flapping server is not a log line per flap. */
    private static final Duration OUTAGE_LOG_INTERVAL = Duration.ofSeconds(30);

    private final RedisTierAddress address;
    private final RedisTierOptions options;
    private final byte[] keyPrefix;
    private final SetArgs setArgs;
    private final ClientResources resources;
    private final RedisClient client;
    private final RedisRecordCodec codec;
    private final RecordArrays arrays = new RecordArrays(RecordArrays.defaultMaxKeptBytes());
    private final BlockingQueue<PendingWrite> queue;
    private final AtomicLong queuedBytes = new AtomicLong();
    private final AtomicBoolean reachable = new AtomicBoolean(true);
    // Written only by the thread that wins a flip of reachable, read by the one that flips it back.
    private volatile boolean outageLogged;
    private volatile long lastOutageLogNanos;
    private volatile long unloggedOutages;
    private final Thread writer;
    private volatile Connections connections;
    private volatile boolean closed;

    private final LongAdder hits = new LongAdder();
    private final LongAdder misses = new LongAdder();
    private final LongAdder blocksWritten = new LongAdder();
    private final LongAdder bytesWritten = new LongAdder();
    private final LongAdder bytesRead = new LongAdder();
    private final LongAdder droppedWrites = new LongAdder();
    private final LongAdder errors = new LongAdder();
    private final LongAdder corrupt = new LongAdder();
    private final ConcurrentHistogram loadNanos = new ConcurrentHistogram(3);

    private record PendingWrite(byte[] key, byte[] record) {
    }

    /** The load and write connections, made together. */
    private record Connections(StatefulRedisConnection<byte[], byte[]> load,
                               StatefulRedisConnection<byte[], byte[]> write) {
    }

    private RedisKvTier(RedisTierAddress address, RedisTierOptions options) {
        this.address = address;
        this.options = options;
        this.keyPrefix = (options.keyPrefix() + ":").getBytes(StandardCharsets.UTF_8);
        this.setArgs = options.ttl().isZero() ? null : SetArgs.Builder.px(options.ttl().toMillis());
        this.codec = new RedisRecordCodec(options.maxRecordBytes(), arrays);
        this.queue = new LinkedBlockingQueue<>(options.writeQueueBlocks());
        this.resources = DefaultClientResources.builder()
                .ioThreadPoolSize(2)
                .computationThreadPoolSize(2)
                .build();
        this.client = RedisClient.create(resources);
        client.setOptions(ClientOptions.builder()
                // The writer thread reconnects (see drainWrites): Lettuce's own reconnection logs every attempt,
                // and would buffer or replay commands for a server that may not return.
                .autoReconnect(false)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .requestQueueSize(REQUEST_QUEUE_SIZE)
                .timeoutOptions(TimeoutOptions.enabled(options.commandTimeout()))
                .socketOptions(SocketOptions.builder().connectTimeout(CONNECT_TIMEOUT).tcpNoDelay(true).build())
                .build());
        this.writer = Thread.ofPlatform().daemon().name("ultrakv-redis-tier-writer").unstarted(this::drainWrites);
    }

    /**
     * A tier at {@code uri}, with the {@link RedisTierOptions#defaults() default options}.
     *
     * @see #connect(String, RedisTierOptions)
     */
    public static RedisKvTier connect(String uri) {
        return connect(uri, RedisTierOptions.defaults());
    }

    /**
     * A tier at {@code uri} ({@code redis://host:port[/db]}, optionally with {@code [user]:password@}). Tries to
     * connect at once (a bounded wait: a one-second connect timeout for each of its two connections); if the
     * server is down the tier still starts, reads as misses, drops writes and keeps trying to connect.
     *
     * @throws IllegalArgumentException if {@code uri} is malformed, naming it
     */
    public static RedisKvTier connect(String uri, RedisTierOptions options) {
        RedisTierAddress address = RedisTierAddress.parse(uri);
        RedisKvTier tier = new RedisKvTier(address, Objects.requireNonNull(options, "options"));
        tier.tryConnect();
        tier.writer.start();
        return tier;
    }

    @Override
    public String name() {
        return "redis";
    }

    /** Where this tier connects, without credentials. */
    public RedisTierAddress address() {
        return address;
    }

    /** The options this tier was made with. */
    public RedisTierOptions options() {
        return options;
    }

    /** Whether the server answered the last call (or probe) made to it. */
    public boolean reachable() {
        return connections != null && reachable.get();
    }

    @Override
    public boolean offer(BlockKey key, byte[] record) {
        Objects.requireNonNull(key, "key");
        Objects.requireNonNull(record, "record");
        if (closed || record.length > options.maxRecordBytes()) {
            droppedWrites.increment();
            return false;
        }
        if (!reachable()) {
            droppedWrites.increment();
            errors.increment();
            return false;
        }
        if (queuedBytes.addAndGet(record.length) > options.writeQueueBytes()) {
            queuedBytes.addAndGet(-record.length);
            droppedWrites.increment();
            return false;
        }
        if (!queue.offer(new PendingWrite(redisKey(key), record))) {
            queuedBytes.addAndGet(-record.length);
            droppedWrites.increment();
            return false;
        }
        return true;
    }

    @Override
    public CompletableFuture<List<byte[]>> loadRun(List<BlockKey> run) {
        List<BlockKey> keys = List.copyOf(run); // read again when the reply comes
        if (keys.isEmpty()) {
            return CompletableFuture.completedFuture(List.of());
        }
        Connections current = connections;
        if (closed || current == null || !reachable.get()) {
            misses.increment();
            if (!closed) {
                errors.increment();
            }
            return CompletableFuture.completedFuture(List.of());
        }
        byte[][] redisKeys = new byte[keys.size()][];
        for (int i = 0; i < redisKeys.length; i++) {
            redisKeys[i] = redisKey(keys.get(i));
        }
        long start = System.nanoTime();
        CompletableFuture<List<KeyValue<byte[], byte[]>>> reply;
        try {
            reply = WindowedMget.read(current.load().async(), redisKeys);
        } catch (RuntimeException e) {
            reply = CompletableFuture.failedFuture(e);
        }
        // Lettuce times each MGET out; this bounds the whole run even if a reply were never matched. Per MGET, not
        // once for the run: a long prompt's run (300 MB of float32 blocks for 4096 tokens of a 110M model) takes
        // longer than one call's bound however healthy the server, and a bound missed marks the server down.
        int calls = WindowedMget.commands(redisKeys.length);
        long bound = Math.min(options.commandTimeout().toNanos(), Long.MAX_VALUE / calls) * calls;
        return reply.orTimeout(bound, TimeUnit.NANOSECONDS)
                .handle((values, failure) -> {
                    loadNanos.recordValue(System.nanoTime() - start);
                    if (failure != null) {
                        misses.increment();
                        failed(failure);
                        return List.of();
                    }
                    succeeded();
                    try {
                        return leadingRun(keys, redisKeys, values, current);
                    } catch (RuntimeException e) {
                        // The contract: a load completes normally, whatever went wrong.
                        misses.increment();
                        errors.increment();
                        LOG.log(System.Logger.Level.ERROR, this + ": a load failed", e);
                        return List.of();
                    }
                });
    }

    @Override
    public void recycle(byte[] record) {
        arrays.give(record);
    }

    @Override
    public TierStats stats() {
        return new TierStats(name(), hits.sum(), misses.sum(), blocksWritten.sum(), bytesWritten.sum(),
                bytesRead.sum(), droppedWrites.sum(), errors.sum(), corrupt.sum(),
                Duration.ofNanos(loadNanos.getValueAtPercentile(50)),
                Duration.ofNanos(loadNanos.getValueAtPercentile(99)));
    }

    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try {
            writer.join(CLOSE_WAIT);
            if (writer.isAlive()) {
                writer.interrupt();
                writer.join(CLOSE_WAIT);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        dropQueued();
        // The client closes its connections (closing them here first makes it warn that they already are).
        client.shutdown(Duration.ZERO, CLOSE_WAIT);
        resources.shutdown(0, CLOSE_WAIT.toMillis(), TimeUnit.MILLISECONDS);
    }

    @Override
    public String toString() {
        return "redis tier at " + address.display();
    }

    private List<byte[]> leadingRun(List<BlockKey> keys, byte[][] redisKeys, List<KeyValue<byte[], byte[]>> values,
                                    Connections current) {
        List<byte[]> run = new ArrayList<>();
        for (int i = 0; i < keys.size() && i < values.size(); i++) {
            KeyValue<byte[], byte[]> value = values.get(i);
            if (!value.hasValue()) {
                break;
            }
            byte[] record = value.getValue();
            String problem = record == RedisRecordCodec.OVERSIZED
                    ? "value longer than " + options.maxRecordBytes() + " bytes"
                    : BlockRecord.problem(record, keys.get(i));
            if (problem != null) {
                corrupt.increment();
                LOG.log(System.Logger.Level.WARNING, "{0}: block {1} is corrupt ({2}); deleting it", this,
                        keys.get(i), problem);
                forget(current, redisKeys[i]);
                break;
            }
            hits.increment();
            bytesRead.add(record.length);
            run.add(record);
        }
        for (int i = run.size(); i < values.size(); i++) {
            if (values.get(i).hasValue()) {
                arrays.give(values.get(i).getValue()); // read past the run's end: nobody gets it
            }
        }
        if (run.size() < keys.size()) {
            misses.increment();
        }
        return run;
    }

    private void forget(Connections current, byte[] redisKey) {
        try {
            current.load().async().del(redisKey).whenComplete((deleted, failure) -> {
                if (failure != null) {
                    failed(failure);
                }
            });
        } catch (RuntimeException e) {
            failed(e);
        }
    }

    private byte[] redisKey(BlockKey key) {
        byte[] redisKey = new byte[keyPrefix.length + BlockKey.BYTES];
        System.arraycopy(keyPrefix, 0, redisKey, 0, keyPrefix.length);
        key.copyTo(redisKey, keyPrefix.length);
        return redisKey;
    }

    // The writer thread: connects (again) when it must, probes while the server is unreachable, otherwise writes
    // the queue in batches. It leaves once closed and the queue is written or dropped, or when close interrupts it.
    private void drainWrites() {
        long backoffMillis = PROBE_INTERVAL.toMillis();
        while (!(closed && queue.isEmpty()) && !Thread.currentThread().isInterrupted()) {
            Connections current = connections;
            if (current != null && reachable.get() && !open(current)) {
                failed(new IllegalStateException("connection lost"));
            }
            if (!reachable()) {
                boolean back = !closed && (open(current) ? probe() : tryConnect());
                if (!back) {
                    dropQueued();
                    if (closed) {
                        return;
                    }
                    pause(backoffMillis);
                    backoffMillis = Math.min(backoffMillis * 2, MAX_RECONNECT_DELAY.toMillis());
                    continue;
                }
                backoffMillis = PROBE_INTERVAL.toMillis();
            }
            List<PendingWrite> batch = nextBatch();
            if (!batch.isEmpty()) {
                write(batch);
            }
        }
    }

    private static boolean open(Connections current) {
        return current != null && current.load().isOpen() && current.write().isOpen();
    }

    private List<PendingWrite> nextBatch() {
        List<PendingWrite> batch = new ArrayList<>();
        try {
            PendingWrite first = queue.poll(PROBE_INTERVAL.toMillis(), TimeUnit.MILLISECONDS);
            if (first == null) {
                return batch;
            }
            batch.add(first);
            long bytes = first.record().length;
            while (batch.size() < MAX_BATCH_BLOCKS && bytes < MAX_BATCH_BYTES) {
                PendingWrite next = queue.poll();
                if (next == null) {
                    break;
                }
                batch.add(next);
                bytes += next.record().length;
            }
            queuedBytes.addAndGet(-bytes);
        } catch (InterruptedException e) {
            // Only close interrupts the writer, once its wait is over: what it holds is dropped.
            droppedWrites.add(batch.size());
            Thread.currentThread().interrupt();
            batch.clear();
        }
        return batch;
    }

    private void write(List<PendingWrite> batch) {
        Connections current = connections;
        StatefulRedisConnection<byte[], byte[]> connection = current.write();
        RedisAsyncCommands<byte[], byte[]> commands = connection.async();
        List<RedisFuture<String>> replies = new ArrayList<>(batch.size());
        Throwable failure = null;
        try {
            for (PendingWrite pending : batch) {
                replies.add(setArgs == null ? commands.set(pending.key(), pending.record())
                        : commands.set(pending.key(), pending.record(), setArgs));
            }
            connection.flushCommands();
            CompletableFuture.allOf(replies.stream().map(RedisFuture::toCompletableFuture)
                            .toArray(CompletableFuture[]::new))
                    .get(options.commandTimeout().toNanos() * 2, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            failure = e;
        } catch (Exception e) {
            failure = e;
        }
        int written = 0;
        for (int i = 0; i < replies.size(); i++) {
            RedisFuture<String> reply = replies.get(i);
            if (reply.isDone() && !reply.toCompletableFuture().isCompletedExceptionally()) {
                written++;
                blocksWritten.increment();
                bytesWritten.add(batch.get(i).record().length);
            } else {
                reply.cancel(false);
            }
        }
        droppedWrites.add(batch.size() - written);
        if (failure != null || written < batch.size()) {
            failed(failure != null ? failure : new IllegalStateException("a write was not acknowledged"));
        } else {
            succeeded();
        }
    }

    private boolean tryConnect() {
        RedisURI.Builder uri = RedisURI.Builder.redis(address.host(), address.port())
                .withDatabase(address.database())
                .withTimeout(options.commandTimeout().compareTo(CONNECT_TIMEOUT) > 0 ? options.commandTimeout()
                        : CONNECT_TIMEOUT);
        if (address.password() != null && address.user() == null) {
            uri.withPassword(address.password().toCharArray()); // plain AUTH password: every Redis version
        } else if (address.password() != null) {
            uri.withAuthentication(address.user(), address.password().toCharArray());
        }
        Connections lost = connections;
        if (lost != null) {
            connections = null;
            lost.load().closeAsync();
            lost.write().closeAsync();
        }
        StatefulRedisConnection<byte[], byte[]> load = null;
        try {
            RedisURI target = uri.build();
            load = client.connect(codec, target);
            StatefulRedisConnection<byte[], byte[]> write = client.connect(codec, target);
            write.setAutoFlushCommands(false);
            connections = new Connections(load, write);
            succeeded();
            return true;
        } catch (RuntimeException e) {
            if (load != null) {
                load.closeAsync();
            }
            // Counted once per outage, like the log: retries while it lasts are not new failures.
            if (reachable.get()) {
                failed(e);
            }
            return false;
        }
    }

    private boolean probe() {
        try {
            connections.load().async().ping().toCompletableFuture()
                    .get(options.commandTimeout().toNanos(), TimeUnit.NANOSECONDS);
            succeeded();
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } catch (Exception e) {
            return false;
        }
    }

    private void succeeded() {
        if (reachable.compareAndSet(false, true) && outageLogged) {
            LOG.log(System.Logger.Level.INFO, "{0} answers again", this);
        }
    }

    // Only the thread that flips reachable to false reports, so an outage is logged once however many calls fail;
    // a server that flaps (a PING answers, the next MGET times out) is reported once per OUTAGE_LOG_INTERVAL.
    private void failed(Throwable failure) {
        errors.increment();
        if (!reachable.compareAndSet(true, false)) {
            return;
        }
        long now = System.nanoTime();
        outageLogged = now - lastOutageLogNanos >= OUTAGE_LOG_INTERVAL.toNanos() || lastOutageLogNanos == 0;
        if (!outageLogged) {
            unloggedOutages++;
            return;
        }
        lastOutageLogNanos = now;
        String earlier = unloggedOutages == 0 ? ""
                : " (after " + unloggedOutages + " brief outages since the last report)";
        unloggedOutages = 0;
        LOG.log(System.Logger.Level.WARNING, "{0} is unreachable or too slow ({1}){2}; loads read as misses and"
                + " writes are dropped until it answers", this, describe(failure), earlier);
    }

    private void dropQueued() {
        List<PendingWrite> left = new ArrayList<>();
        queue.drainTo(left);
        for (PendingWrite pending : left) {
            queuedBytes.addAndGet(-pending.record().length);
        }
        droppedWrites.add(left.size());
    }

    private void pause(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private String describe(Throwable failure) {
        Throwable cause = failure;
        while (cause.getCause() != null && cause.getCause() != cause) {
            cause = cause.getCause();
        }
        if (cause instanceof java.util.concurrent.TimeoutException) {
            return "no answer within " + options.commandTimeout().toMillis() + " ms";
        }
        return cause.getClass().getSimpleName() + ": " + cause.getMessage();
    }
}
