package dev.ultrakv.kvcache.tier;

import java.time.Duration;
import java.util.Objects;

/**
 * How a {@link RedisKvTier} talks to its server.
 *
 * @param commandTimeout   bound on every Redis call: a load one of whose {@code MGET}s of a few blocks takes longer
 *                         completes as a miss (a long run of blocks gets this bound per call, not for the whole run),
 *                         a write batch that takes longer is dropped
 * @param ttl              how long Redis keeps a block ({@code SET ... PX}); {@link Duration#ZERO} for no expiry
 *                         (the server's {@code maxmemory-policy} then decides what goes)
 * @param keyPrefix        namespace of the tier's keys: a key is {@code prefix + ":"} followed by the block's 32
 *                         digest bytes, so that one Redis can hold other data, or several fleets, side by side
 * @param writeQueueBlocks most blocks waiting to be written; an offer beyond it is dropped
 * @param writeQueueBytes  most record bytes waiting to be written; an offer beyond it is dropped
 * @param maxRecordBytes   largest value a load accepts: a longer one is not copied, counts as corrupt and is
 *                         deleted. An engine sets it to its own record size; the default admits any record
 *                         {@link BlockRecord} can frame
 */
public record RedisTierOptions(Duration commandTimeout, Duration ttl, String keyPrefix, int writeQueueBlocks,
                               long writeQueueBytes, int maxRecordBytes) {
    /** Default bound on a call: a loopback or same-rack MGET of a few MiB takes a few milliseconds. */
    public static final Duration DEFAULT_COMMAND_TIMEOUT = Duration.ofMillis(200);
    /** Default key namespace. */
    public static final String DEFAULT_KEY_PREFIX = "ultrakv:kv";
    /** Default queue: enough for a burst of evictions without holding much of the heap. */
    public static final int DEFAULT_WRITE_QUEUE_BLOCKS = 1024;
    /** Default bound on queued bytes: 256 MiB of heap at most, whatever the block size. */
    public static final long DEFAULT_WRITE_QUEUE_BYTES = 256L << 20;
    /** The largest record {@link BlockRecord} frames: the largest payload, the longest namespace, the frame. */
    public static final int LARGEST_RECORD_BYTES = BlockRecord.MAX_PAYLOAD_BYTES + BlockRecord.MAX_NAMESPACE_BYTES
            + BlockRecord.encode(BlockKey.ofDigest(new byte[BlockKey.BYTES]), "", new byte[0]).length;

    /** Checks every option, naming the one that is wrong. */
    public RedisTierOptions {
        Objects.requireNonNull(commandTimeout, "commandTimeout");
        Objects.requireNonNull(ttl, "ttl");
        Objects.requireNonNull(keyPrefix, "keyPrefix");
        if (commandTimeout.isNegative() || commandTimeout.isZero()) {
            throw new IllegalArgumentException("Redis command timeout must be positive, not " + commandTimeout);
        }
        if (ttl.isNegative() || (!ttl.isZero() && ttl.toMillis() == 0)) {
            throw new IllegalArgumentException("Redis TTL must be zero (none) or at least 1 ms, not " + ttl);
        }
        if (keyPrefix.isEmpty() || keyPrefix.length() > 256) {
            throw new IllegalArgumentException("Redis key prefix must have 1 to 256 characters, not "
                    + keyPrefix.length());
        }
        if (writeQueueBlocks < 1) {
            throw new IllegalArgumentException("Redis write queue must hold at least 1 block, not "
                    + writeQueueBlocks);
        }
        if (writeQueueBytes < 1) {
            throw new IllegalArgumentException("Redis write queue bytes must be positive, not " + writeQueueBytes);
        }
        if (maxRecordBytes < 1 || maxRecordBytes > LARGEST_RECORD_BYTES) {
            throw new IllegalArgumentException("Redis max record bytes must be in 1.." + LARGEST_RECORD_BYTES
                    + ", not " + maxRecordBytes);
        }
    }

    /** The defaults: 200 ms timeout, no TTL, prefix {@code ultrakv:kv}, 1024 blocks / 256 MiB queued. */
    public static RedisTierOptions defaults() {
        return new RedisTierOptions(DEFAULT_COMMAND_TIMEOUT, Duration.ZERO, DEFAULT_KEY_PREFIX,
                DEFAULT_WRITE_QUEUE_BLOCKS, DEFAULT_WRITE_QUEUE_BYTES, LARGEST_RECORD_BYTES);
    }

    /** These options with another command timeout. */
    public RedisTierOptions withCommandTimeout(Duration timeout) {
        return new RedisTierOptions(timeout, ttl, keyPrefix, writeQueueBlocks, writeQueueBytes, maxRecordBytes);
    }

    /** These options with a TTL ({@link Duration#ZERO} for none). */
    public RedisTierOptions withTtl(Duration expiry) {
        return new RedisTierOptions(commandTimeout, expiry, keyPrefix, writeQueueBlocks, writeQueueBytes,
                maxRecordBytes);
    }

    /** These options with another key namespace. */
    public RedisTierOptions withKeyPrefix(String prefix) {
        return new RedisTierOptions(commandTimeout, ttl, prefix, writeQueueBlocks, writeQueueBytes, maxRecordBytes);
    }

    /** These options with another write queue bound, in blocks and in bytes. */
    public RedisTierOptions withWriteQueue(int blocks, long bytes) {
        return new RedisTierOptions(commandTimeout, ttl, keyPrefix, blocks, bytes, maxRecordBytes);
    }

    /** These options with another bound on a loaded value. */
    public RedisTierOptions withMaxRecordBytes(int bytes) {
        return new RedisTierOptions(commandTimeout, ttl, keyPrefix, writeQueueBlocks, writeQueueBytes, bytes);
    }
}
