package dev.ultrakv.kvcache.tier;

import java.io.EOFException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * One append-only segment file of a {@link DiskKvTier}: an 8-byte header (magic {@code "UKVS"}, format version,
 * both big-endian ints) followed by {@link BlockRecord}s back to back. Its name, {@code segment-<id>.ukvs} with a
 * 16-digit decimal id, sorts in the order the segments were created.
 *
 * <p>Only the tier's writer thread (or {@link DiskKvTier#open} before the threads start) appends, truncates and
 * deletes; any thread reads with positional reads, which need no lock.
 */
final class DiskSegment {
    /** The first four bytes of a segment file: "UKVS". */
    static final int MAGIC = 0x554B5653;
    /** The segment layout this code writes and reads. */
    static final int VERSION = 1;
    /** Bytes before the first record: magic and version. */
    static final int HEADER_BYTES = 2 * Integer.BYTES;
    /**
     * Largest single read or write: the JDK copies a heap buffer through a temporary direct buffer of the same size
     * and keeps it cached per thread, so chunks bound that to 4 MiB per thread whatever the block size, while a 1 MiB
     * block (and its frame) still takes one system call.
     */
    private static final int IO_CHUNK_BYTES = 4 << 20;
    private static final Pattern NAME = Pattern.compile("segment-(\\d{16})\\.ukvs");

    private final long id;
    private final Path path;
    private final FileChannel channel;
    /** Keys of the records appended or recovered here, so eviction can forget them (writer thread only). */
    private final List<BlockKey> keys = new ArrayList<>();
    private volatile long size;
    private volatile boolean deleted;

    private DiskSegment(long id, Path path, FileChannel channel, long size) {
        this.id = id;
        this.path = path;
        this.channel = channel;
        this.size = size;
    }

    /** The file name of segment {@code id}. */
    static String fileName(long id) {
        return "segment-%016d.ukvs".formatted(id);
    }

    /** The id of a segment file named {@code fileName}, or empty if the name is not a segment's. */
    static OptionalLong idOf(String fileName) {
        Matcher m = NAME.matcher(fileName);
        return m.matches() ? OptionalLong.of(Long.parseLong(m.group(1))) : OptionalLong.empty();
    }

    /** Creates segment {@code id} in {@code directory} with its header written. */
    static DiskSegment create(Path directory, long id) throws IOException {
        Path path = directory.resolve(fileName(id));
        FileChannel channel = FileChannel.open(path, StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                StandardOpenOption.WRITE);
        try {
            writeFully(channel, ByteBuffer.allocate(HEADER_BYTES).putInt(MAGIC).putInt(VERSION).flip(), 0);
        } catch (IOException e) {
            channel.close();
            Files.deleteIfExists(path);
            throw e;
        }
        return new DiskSegment(id, path, channel, HEADER_BYTES);
    }

    /** Opens the existing segment file {@code path} (id {@code id}) as it is; its header is not checked here. */
    static DiskSegment open(Path path, long id) throws IOException {
        FileChannel channel = FileChannel.open(path, StandardOpenOption.READ, StandardOpenOption.WRITE);
        try {
            return new DiskSegment(id, path, channel, channel.size());
        } catch (IOException e) {
            channel.close();
            throw e;
        }
    }

    long id() {
        return id;
    }

    Path path() {
        return path;
    }

    /** Bytes of the file: header and records. */
    long size() {
        return size;
    }

    /** Whether eviction has deleted this segment (a read that failed on it is a miss, not an error). */
    boolean isDeleted() {
        return deleted;
    }

    /** Keys of the records in this segment, in order (writer thread only). */
    List<BlockKey> keys() {
        return keys;
    }

    /** Whether the header is this format's: magic and version. */
    boolean hasValidHeader() throws IOException {
        if (size < HEADER_BYTES) {
            return false;
        }
        ByteBuffer header = ByteBuffer.allocate(HEADER_BYTES);
        readFully(header, 0);
        return header.getInt(0) == MAGIC && header.getInt(Integer.BYTES) == VERSION;
    }

    /**
     * Appends {@code record} at the end of the file and returns its offset. A failed write is cut off again, so the
     * file never keeps half a record that this process knows about.
     */
    long append(BlockKey key, byte[] record) throws IOException {
        long offset = size;
        try {
            writeFully(channel, ByteBuffer.wrap(record), offset);
        } catch (IOException e) {
            try {
                channel.truncate(offset);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        size = offset + record.length;
        keys.add(key);
        return offset;
    }

    /**
     * Fills {@code into} with the bytes at {@code offset} and returns it; an {@link EOFException} if the file ends
     * first.
     */
    byte[] read(long offset, byte[] into) throws IOException {
        ByteBuffer buffer = ByteBuffer.wrap(into);
        readFully(buffer, offset);
        if (buffer.hasRemaining()) {
            throw new EOFException(path + " ends before " + (offset + into.length) + " bytes");
        }
        return into;
    }

    /** Reads into {@code buffer} from {@code offset} until it is full or the file ends. */
    void readFully(ByteBuffer buffer, long offset) throws IOException {
        long position = offset;
        int end = buffer.limit();
        try {
            while (buffer.position() < end) {
                buffer.limit(Math.min(end, buffer.position() + IO_CHUNK_BYTES));
                int n = channel.read(buffer, position);
                if (n < 0) {
                    return;
                }
                position += n;
            }
        } finally {
            buffer.limit(end);
        }
    }

    /** Cuts the file to {@code newSize} bytes (recovery of a torn tail). */
    void truncate(long newSize) throws IOException {
        channel.truncate(newSize);
        size = newSize;
    }

    /** Flushes the file's bytes to the device. */
    void force() throws IOException {
        channel.force(false);
    }

    /** Closes the file, leaving it on disk. */
    void close() throws IOException {
        channel.close();
    }

    /** Closes and deletes the file; reads in flight fail and read as misses. */
    void delete() throws IOException {
        deleted = true;
        try {
            channel.close();
        } finally {
            Files.deleteIfExists(path);
        }
    }

    private static void writeFully(FileChannel channel, ByteBuffer buffer, long offset) throws IOException {
        long position = offset;
        int end = buffer.limit();
        while (buffer.position() < end) {
            buffer.limit(Math.min(end, buffer.position() + IO_CHUNK_BYTES));
            position += channel.write(buffer, position);
        }
    }

    @Override
    public String toString() {
        return path.getFileName().toString();
    }
}
