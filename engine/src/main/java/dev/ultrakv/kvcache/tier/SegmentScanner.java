package dev.ultrakv.kvcache.tier;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.util.Arrays;
import java.util.zip.CRC32C;

/**
 * Rebuilds the index entries of one {@link DiskSegment} after a restart by walking its {@link BlockRecord} frames,
 * and cuts off a torn tail.
 *
 * <p>Only each record's head (magic, version, key, namespace and payload lengths) is read, with one small positional
 * read, so a restart costs a read per record rather than a read of every byte; the payloads are checked when they
 * are loaded. The last record of the segment has its checksum checked (read in 64 KiB chunks), because
 * {@code kill -9} can tear only the write in progress, which is always the last. A head that does not parse, or a
 * length that runs past the end of the file, ends the segment: it is truncated there, since no later record boundary
 * can be trusted. Every length is checked against the file's size and {@link BlockRecord#MAX_PAYLOAD_BYTES} before
 * anything is allocated.
 */
final class SegmentScanner {
    /** Magic, version, flags, key, namespace length: {@link BlockRecord}'s frame up to the namespace. */
    private static final int NAMESPACE_OFFSET = 4 + 2 + 2 + BlockKey.BYTES;
    private static final int KEY_OFFSET = 8;
    /** The frame without namespace and payload: head, namespace length, payload length, CRC. */
    private static final int FRAME_BYTES = NAMESPACE_OFFSET + Short.BYTES + Integer.BYTES + Integer.BYTES;
    /** Bytes read at a time to check a record's checksum at open. */
    private static final int CHECKSUM_CHUNK_BYTES = 64 << 10;
    /** The longest record head: everything before the payload with the longest namespace. */
    private static final int MAX_HEAD_BYTES = NAMESPACE_OFFSET + Short.BYTES + BlockRecord.MAX_NAMESPACE_BYTES
            + Integer.BYTES;

    /** Receives each record found: its key, offset in the segment and length in bytes. */
    @FunctionalInterface
    interface RecordSink {
        void accept(BlockKey key, long offset, int length);
    }

    /**
     * What a scan found in one segment.
     *
     * @param records        records handed to the sink
     * @param tornReason     why the tail was cut off, or null when the segment ended cleanly
     * @param truncatedBytes bytes cut off the end
     */
    record SegmentScan(long records, String tornReason, long truncatedBytes) {
        boolean torn() {
            return tornReason != null;
        }
    }

    private SegmentScanner() {
    }

    /**
     * Walks {@code segment} (whose header has been checked), handing each record to {@code sink} in order, and
     * truncates the file at the first record that is torn.
     */
    static SegmentScan scan(DiskSegment segment, RecordSink sink) throws IOException {
        long size = segment.size();
        ByteBuffer head = ByteBuffer.allocate(MAX_HEAD_BYTES);
        long position = DiskSegment.HEADER_BYTES;
        long records = 0;
        while (position < size) {
            head.clear();
            if (size - position < head.capacity()) {
                head.limit((int) (size - position));
            }
            segment.readFully(head, position);
            String problem = headProblem(head, size - position);
            long length = problem == null ? recordLength(head) : 0;
            BlockKey key = problem == null ? BlockKey.ofDigest(
                    Arrays.copyOfRange(head.array(), KEY_OFFSET, KEY_OFFSET + BlockKey.BYTES)) : null;
            if (problem == null && position + length == size) {
                problem = checksumProblem(segment, position, length);
            }
            if (problem != null) {
                segment.truncate(position);
                return new SegmentScan(records, "record at " + position + " of " + segment + ": " + problem,
                        size - position);
            }
            sink.accept(key, position, (int) length);
            records++;
            position += length;
        }
        return new SegmentScan(records, null, 0);
    }

    /**
     * Whether the CRC-32C at the end of the {@code length}-byte record at {@code position} matches its bytes, read
     * in small chunks so that a large block costs no large allocation. The head has been checked already, so this
     * and {@link BlockRecord#problem} agree.
     */
    private static String checksumProblem(DiskSegment segment, long position, long length) throws IOException {
        CRC32C crc = new CRC32C();
        ByteBuffer chunk = ByteBuffer.allocate(CHECKSUM_CHUNK_BYTES);
        long end = position + length - Integer.BYTES;
        for (long at = position; at < end; at += chunk.limit()) {
            chunk.clear().limit((int) Math.min(chunk.capacity(), end - at));
            segment.readFully(chunk, at);
            if (chunk.hasRemaining()) {
                return "the file ends inside the record";
            }
            crc.update(chunk.flip());
        }
        ByteBuffer stored = ByteBuffer.allocate(Integer.BYTES);
        segment.readFully(stored, end);
        if (stored.hasRemaining()) {
            return "the file ends inside the record's checksum";
        }
        return (int) crc.getValue() == stored.getInt(0) ? null : "checksum mismatch";
    }

    /** What is wrong with the record head in {@code head} (filled up to its position), or null. */
    private static String headProblem(ByteBuffer head, long bytesLeft) {
        int got = head.position();
        if (got < NAMESPACE_OFFSET + Short.BYTES) {
            return "tail of " + bytesLeft + " bytes is shorter than a record head";
        }
        if (head.getInt(0) != BlockRecord.MAGIC) {
            return "no record magic";
        }
        if (head.getShort(4) != BlockRecord.VERSION) {
            return "record format version " + head.getShort(4);
        }
        int nameBytes = Short.toUnsignedInt(head.getShort(NAMESPACE_OFFSET));
        if (nameBytes > BlockRecord.MAX_NAMESPACE_BYTES) {
            return "namespace length " + nameBytes + " over " + BlockRecord.MAX_NAMESPACE_BYTES;
        }
        if (got < NAMESPACE_OFFSET + Short.BYTES + nameBytes + Integer.BYTES) {
            return "tail of " + bytesLeft + " bytes is shorter than its record head";
        }
        long payloadBytes = payloadBytes(head);
        if (payloadBytes > BlockRecord.MAX_PAYLOAD_BYTES) {
            return "payload length " + payloadBytes + " over " + BlockRecord.MAX_PAYLOAD_BYTES;
        }
        long length = FRAME_BYTES + nameBytes + payloadBytes;
        if (length > bytesLeft) {
            return "record of " + length + " bytes runs past the end of the file (" + bytesLeft + " bytes left)";
        }
        return null;
    }

    private static long recordLength(ByteBuffer head) {
        return FRAME_BYTES + Short.toUnsignedInt(head.getShort(NAMESPACE_OFFSET)) + payloadBytes(head);
    }

    private static long payloadBytes(ByteBuffer head) {
        int nameBytes = Short.toUnsignedInt(head.getShort(NAMESPACE_OFFSET));
        return Integer.toUnsignedLong(head.getInt(NAMESPACE_OFFSET + Short.BYTES + nameBytes));
    }
}
