package dev.ultrakv.kvcache.tier;

import io.lettuce.core.codec.RedisCodec;

import java.nio.ByteBuffer;

/**
 * Binary keys and values for Lettuce, with a bound on what a value read from Redis may copy onto the heap: a
 * longer value becomes {@link #OVERSIZED} instead of a copy, so a stray or hostile value never allocates more than
 * the tier admits. (Lettuce has by then buffered the reply; the server's {@code proto-max-bulk-len}, 512 MiB by
 * default, bounds that.) Values are copied into arrays the tier's loads give back ({@link RecordArrays}).
 */
final class RedisRecordCodec implements RedisCodec<byte[], byte[]> {
    /** Stands for a value longer than the bound; compared by identity. */
    static final byte[] OVERSIZED = new byte[0];

    private final int maxValueBytes;
    private final RecordArrays arrays;

    RedisRecordCodec(int maxValueBytes, RecordArrays arrays) {
        this.maxValueBytes = maxValueBytes;
        this.arrays = arrays;
    }

    @Override
    public byte[] decodeKey(ByteBuffer bytes) {
        return copy(bytes);
    }

    @Override
    public byte[] decodeValue(ByteBuffer bytes) {
        if (bytes.remaining() > maxValueBytes) {
            return OVERSIZED;
        }
        byte[] value = arrays.take(bytes.remaining());
        bytes.get(value);
        return value;
    }

    @Override
    public ByteBuffer encodeKey(byte[] key) {
        return ByteBuffer.wrap(key);
    }

    @Override
    public ByteBuffer encodeValue(byte[] value) {
        return ByteBuffer.wrap(value);
    }

    private static byte[] copy(ByteBuffer bytes) {
        byte[] out = new byte[bytes.remaining()];
        bytes.get(out);
        return out;
    }
}
