package dev.ultrakv.kvcache.tier;

import dev.ultrakv.kvcache.KvBlockLayout;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.zip.CRC32C;

/**
 * How one KV block travels to and from a tier: a self-describing, checksummed record, so that a torn write, a
 * flipped bit or a block of another model or codec is detected and read as a miss, never as KV.
 *
 * <pre>
 * offset  size  field
 *      0     4  magic "UKVB"
 *      4     2  format version ({@link #VERSION})
 *      6     2  flags (0; reserved for a tier's compression)
 *      8    32  the block's {@link BlockKey}
 *     40     2  namespace length n (UTF-8 bytes, at most {@link #MAX_NAMESPACE_BYTES})
 *     42     n  namespace: model id and block layout ({@link #namespace})
 *   42+n     4  payload length p (at most {@link #MAX_PAYLOAD_BYTES})
 *   46+n     p  payload: the block's bytes exactly as the pool holds them (its codec's layout)
 * 46+n+p     4  CRC-32C of every byte before it
 * </pre>
 * All integers are big-endian. Lengths are checked against the record's size before anything is allocated.
 */
public final class BlockRecord {
    /** The first four bytes of every record. */
    public static final int MAGIC = 0x554B5642; // "UKVB"
    /** The record layout this code writes and reads. */
    public static final short VERSION = 1;
    /** Longest namespace a record carries. */
    public static final int MAX_NAMESPACE_BYTES = 4096;
    /** Largest block a record carries: a bound on what a length read from a file or from Redis may allocate. */
    public static final int MAX_PAYLOAD_BYTES = 1 << 30;
    private static final int KEY_OFFSET = 8;
    private static final int NAMESPACE_OFFSET = KEY_OFFSET + BlockKey.BYTES;
    private static final int FIXED_BYTES = NAMESPACE_OFFSET + Short.BYTES + Integer.BYTES + Integer.BYTES;

    private BlockRecord() {
    }

    /**
     * What a block's bytes depend on besides its tokens: the model identity and the block layout (codec, block
     * size, layers, KV heads, head size). Part of every {@link BlockKey} and of every record.
     */
    public static String namespace(String modelId, KvBlockLayout layout) {
        return modelId + " | " + layout;
    }

    /** The record of the block {@code key} whose bytes are {@code payload}. */
    public static byte[] encode(BlockKey key, String namespace, MemorySegment payload) {
        byte[] name = namespace.getBytes(StandardCharsets.UTF_8);
        if (name.length > MAX_NAMESPACE_BYTES) {
            throw new IllegalArgumentException("namespace of " + name.length + " bytes, at most "
                    + MAX_NAMESPACE_BYTES);
        }
        if (payload.byteSize() > MAX_PAYLOAD_BYTES) {
            throw new IllegalArgumentException("block of " + payload.byteSize() + " bytes, at most "
                    + MAX_PAYLOAD_BYTES);
        }
        int payloadBytes = (int) payload.byteSize();
        byte[] record = new byte[FIXED_BYTES + name.length + payloadBytes];
        ByteBuffer out = ByteBuffer.wrap(record);
        out.putInt(MAGIC).putShort(VERSION).putShort((short) 0);
        key.copyTo(record, KEY_OFFSET);
        out.position(NAMESPACE_OFFSET);
        out.putShort((short) name.length).put(name).putInt(payloadBytes);
        int payloadOffset = out.position();
        MemorySegment.copy(payload, ValueLayout.JAVA_BYTE, 0, record, payloadOffset, payloadBytes);
        CRC32C crc = new CRC32C();
        crc.update(record, 0, record.length - Integer.BYTES);
        out.position(record.length - Integer.BYTES);
        out.putInt((int) crc.getValue());
        return record;
    }

    /** The record of the block {@code key} whose bytes are {@code payload}. */
    public static byte[] encode(BlockKey key, String namespace, byte[] payload) {
        return encode(key, namespace, MemorySegment.ofArray(payload));
    }

    /**
     * Checks {@code record} whole: magic, version, key, lengths and checksum.
     *
     * @return null when it is a sound record of {@code expected}, else what is wrong with it (for a tier's log and
     *         its corruption count)
     */
    public static String problem(byte[] record, BlockKey expected) {
        if (record.length < FIXED_BYTES) {
            return "record of " + record.length + " bytes is shorter than its " + FIXED_BYTES + "-byte frame";
        }
        ByteBuffer in = ByteBuffer.wrap(record);
        if (in.getInt() != MAGIC) {
            return "no record magic";
        }
        short version = in.getShort();
        if (version != VERSION) {
            return "record format version " + version + ", this engine reads " + VERSION;
        }
        if (!expected.matches(record, KEY_OFFSET)) {
            return "record of another block key";
        }
        int nameBytes = Short.toUnsignedInt(in.getShort(NAMESPACE_OFFSET));
        if (nameBytes > MAX_NAMESPACE_BYTES || FIXED_BYTES + (long) nameBytes > record.length) {
            return "namespace length " + nameBytes + " overruns the record";
        }
        long payloadBytes = Integer.toUnsignedLong(in.getInt(NAMESPACE_OFFSET + Short.BYTES + nameBytes));
        if (FIXED_BYTES + nameBytes + payloadBytes != record.length) {
            return "payload length " + payloadBytes + " does not fit a record of " + record.length + " bytes";
        }
        CRC32C crc = new CRC32C();
        crc.update(record, 0, record.length - Integer.BYTES);
        if ((int) crc.getValue() != in.getInt(record.length - Integer.BYTES)) {
            return "checksum mismatch";
        }
        return null;
    }

    /** The namespace a sound record carries. */
    public static String namespaceOf(byte[] record) {
        int nameBytes = Short.toUnsignedInt(ByteBuffer.wrap(record).getShort(NAMESPACE_OFFSET));
        return new String(record, NAMESPACE_OFFSET + Short.BYTES, nameBytes, StandardCharsets.UTF_8);
    }

    /** Where a sound record's payload starts. */
    public static int payloadOffset(byte[] record) {
        return NAMESPACE_OFFSET + Short.BYTES
                + Short.toUnsignedInt(ByteBuffer.wrap(record).getShort(NAMESPACE_OFFSET)) + Integer.BYTES;
    }

    /** Bytes of a sound record's payload. */
    public static int payloadBytes(byte[] record) {
        return record.length - payloadOffset(record) - Integer.BYTES;
    }

    /** A sound record's payload, viewed in place. */
    public static MemorySegment payload(byte[] record) {
        return MemorySegment.ofArray(record).asSlice(payloadOffset(record), payloadBytes(record));
    }
}
