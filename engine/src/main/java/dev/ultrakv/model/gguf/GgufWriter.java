package dev.ultrakv.model.gguf;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.WritableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SequencedMap;

/**
 * Writes GGUF files with the layout of llama.cpp's writer ({@code gguf_write_to_file}): header, metadata in
 * the given order, tensor infos, zero padding to the alignment, then each tensor's data at its offset followed
 * by zero padding to the alignment. A file read with {@link GgufFile#read} and written back is byte-identical
 * when its tensors are packed that way (as llama.cpp and its Python {@code gguf} package write them).
 *
 * <p>Tensor data can be streamed ({@link #write(Path, SequencedMap, List, TensorContent)}) so that a model
 * larger than memory can be written tensor by tensor. The file is written to a temporary sibling and moved into
 * place at the end, so a failed write never leaves a truncated model behind.
 */
public final class GgufWriter {

    /** Bytes of zeros written at a time for padding. */
    private static final int ZERO_CHUNK = 4096;
    /** Initial capacity of the header buffer, which grows as needed; most headers fit. */
    private static final int HEADER_INITIAL_CAPACITY = 1 << 16;

    /** Segments are written through ByteBuffers, which hold at most 2 GB; use pieces of 1 GB. */
    private static final long MAX_BUFFER = 1L << 30;

    private GgufWriter() {
    }

    /** Produces the bytes of one tensor, for streaming writes. */
    @FunctionalInterface
    public interface TensorContent {
        /**
         * Writes exactly {@code tensor.byteSize()} bytes of {@code tensor}'s data to {@code out}.
         *
         * @throws IOException if writing fails
         */
        void write(GgufTensorInfo tensor, WritableByteChannel out) throws IOException;
    }

    /**
     * Writes {@code file} (its version, metadata, tensor infos and data) to {@code path}.
     *
     * @throws IOException if writing fails
     */
    public static void write(GgufFile file, Path path) throws IOException {
        write(path, file.version(), file.metadata(), file.tensors(), (t, out) -> writeFully(out, file.tensorData(t)));
    }

    /**
     * Writes a version-{@value GgufFile#VERSION} GGUF file, asking {@code content} for each tensor's bytes in turn.
     *
     * @param metadata the metadata in file order; {@link GgufFile#ALIGNMENT_KEY}, if present, sets the alignment
     * @param tensors  the tensors in file order, with ascending aligned offsets (see {@link #layOut})
     * @throws IllegalArgumentException if the alignment is invalid or the offsets are not ascending, aligned and
     *                                  disjoint, or if {@code content} writes the wrong number of bytes
     * @throws IOException              if writing fails
     */
    public static void write(Path path, SequencedMap<String, GgufValue> metadata, List<GgufTensorInfo> tensors,
                             TensorContent content) throws IOException {
        write(path, GgufFile.VERSION, metadata, tensors, content);
    }

    private static void write(Path path, int version, SequencedMap<String, GgufValue> metadata,
                              List<GgufTensorInfo> tensors, TensorContent content) throws IOException {
        Objects.requireNonNull(content, "content");
        int alignment = GgufFile.alignmentOf(metadata);
        checkOffsets(tensors, alignment);
        ByteBuffer header = header(version, metadata, tensors, alignment);

        Path absolute = path.toAbsolutePath();
        Path tmp = absolute.resolveSibling(absolute.getFileName() + ".tmp");
        try {
            writeTo(tmp, header, tensors, content, alignment);
            Files.move(tmp, absolute, StandardCopyOption.REPLACE_EXISTING);
        } catch (IOException | RuntimeException | Error e) {
            // Every failure, the final move included (e.g. the target is a directory), leaves no <out>.tmp behind.
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
    }

    private static void writeTo(Path tmp, ByteBuffer header, List<GgufTensorInfo> tensors, TensorContent content,
                                int alignment) throws IOException {
        try (FileChannel channel = FileChannel.open(tmp, StandardOpenOption.CREATE, StandardOpenOption.WRITE,
                StandardOpenOption.TRUNCATE_EXISTING)) {
            writeFully(channel, header);
            CountingChannel counting = new CountingChannel(channel);
            long position = 0; // in the data section
            for (GgufTensorInfo t : tensors) {
                writeZeros(channel, t.offset() - position);
                counting.count = 0;
                content.write(t, counting);
                if (counting.count != t.byteSize()) {
                    throw new IllegalArgumentException("tensor '" + t.name() + "' has " + t.byteSize()
                            + " bytes but " + counting.count + " were written");
                }
                position = t.offset() + t.byteSize();
            }
            writeZeros(channel, GgufFile.alignUp(position, alignment) - position);
        }
    }

    /**
     * The tensors with offsets packed as llama.cpp packs them: in list order, each at the end of the previous
     * one rounded up to {@code alignment}, the first at 0.
     */
    public static List<GgufTensorInfo> layOut(List<GgufTensorInfo> tensors, int alignment) {
        checkAlignment(alignment);
        List<GgufTensorInfo> out = new ArrayList<>(tensors.size());
        long offset = 0;
        for (GgufTensorInfo t : tensors) {
            out.add(new GgufTensorInfo(t.name(), t.shape().clone(), t.type(), offset));
            offset = GgufFile.alignUp(offset + t.byteSize(), alignment);
        }
        return out;
    }

    /** Size of the data section that {@link #layOut} gives {@code tensors}, final padding included. */
    public static long dataSize(List<GgufTensorInfo> tensors, int alignment) {
        checkAlignment(alignment);
        long end = 0;
        for (GgufTensorInfo t : tensors) {
            end = Math.max(end, GgufFile.alignUp(t.offset() + t.byteSize(), alignment));
        }
        return end;
    }

    private static void checkAlignment(int alignment) {
        if (alignment <= 0 || Integer.bitCount(alignment) != 1) {
            throw new IllegalArgumentException("alignment " + alignment + " is not a power of two");
        }
    }

    private static void checkOffsets(List<GgufTensorInfo> tensors, int alignment) {
        long end = 0;
        for (GgufTensorInfo t : tensors) {
            if (t.offset() % alignment != 0 || t.offset() < end) {
                throw new IllegalArgumentException("tensor '" + t.name() + "' has offset " + t.offset()
                        + "; offsets must be multiples of " + alignment
                        + ", ascending and not overlapping (see layOut)");
            }
            end = t.offset() + t.byteSize();
        }
    }

    /** Header, metadata, tensor infos and the padding up to the data section, ready to write. */
    static ByteBuffer header(int version, Map<String, GgufValue> metadata, List<GgufTensorInfo> tensors,
                             int alignment) {
        Out out = new Out();
        out.u32(GgufFile.MAGIC);
        out.u32(version);
        out.u64(tensors.size());
        out.u64(metadata.size());
        for (Map.Entry<String, GgufValue> e : metadata.entrySet()) {
            out.string(e.getKey());
            out.u32(e.getValue().type().id());
            value(out, e.getValue());
        }
        for (GgufTensorInfo t : tensors) {
            out.string(t.name());
            out.u32(t.shape().length);
            for (long d : t.shape()) {
                out.u64(d);
            }
            out.u32(t.type().id());
            out.u64(t.offset());
        }
        while (out.buf.position() % alignment != 0) {
            out.u8(0);
        }
        return out.buf.flip();
    }

    private static void value(Out out, GgufValue value) {
        switch (value) {
            case GgufValue.Int i -> integer(out, i.type(), i.value());
            case GgufValue.Float32 f -> out.u32(Float.floatToRawIntBits(f.value()));
            case GgufValue.Float64 d -> out.u64(Double.doubleToRawLongBits(d.value()));
            case GgufValue.Bool b -> out.u8(b.value() ? 1 : 0);
            case GgufValue.Str s -> out.string(s.value());
            case GgufValue.Array a -> {
                out.u32(a.elementType().id());
                out.u64(a.size());
                switch (a) {
                    case GgufValue.IntArray ia -> {
                        for (int i = 0; i < ia.size(); i++) {
                            integer(out, ia.elementType(), ia.get(i));
                        }
                    }
                    case GgufValue.Float32Array fa -> {
                        for (int i = 0; i < fa.size(); i++) {
                            out.u32(Float.floatToRawIntBits(fa.get(i)));
                        }
                    }
                    case GgufValue.Float64Array da -> {
                        for (double d : da.values()) {
                            out.u64(Double.doubleToRawLongBits(d));
                        }
                    }
                    case GgufValue.BoolArray ba -> {
                        for (boolean b : ba.values()) {
                            out.u8(b ? 1 : 0);
                        }
                    }
                    case GgufValue.StrArray sa -> {
                        for (String s : sa.values()) {
                            out.string(s);
                        }
                    }
                }
            }
        }
    }

    private static void integer(Out out, GgufValueType type, long v) {
        switch (type.minBytes()) {
            case 1 -> out.u8((int) v);
            case 2 -> out.u16((int) v);
            case 4 -> out.u32((int) v);
            default -> out.u64(v);
        }
    }

    /** Writes all of {@code segment}. */
    static void writeFully(WritableByteChannel out, MemorySegment segment) throws IOException {
        for (long at = 0; at < segment.byteSize(); at += MAX_BUFFER) {
            writeFully(out, segment.asSlice(at, Math.min(MAX_BUFFER, segment.byteSize() - at)).asByteBuffer());
        }
    }

    private static void writeFully(WritableByteChannel out, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            out.write(buf);
        }
    }

    private static void writeZeros(WritableByteChannel out, long n) throws IOException {
        ByteBuffer zeros = ByteBuffer.allocate((int) Math.min(n, ZERO_CHUNK));
        while (n > 0) {
            zeros.clear().limit((int) Math.min(n, zeros.capacity()));
            n -= zeros.remaining();
            writeFully(out, zeros);
        }
    }

    /** A growable little-endian byte buffer. */
    private static final class Out {
        ByteBuffer buf = ByteBuffer.allocate(HEADER_INITIAL_CAPACITY).order(ByteOrder.LITTLE_ENDIAN);

        private void ensure(int n) {
            if (buf.remaining() < n) {
                long needed = (long) buf.position() + n;
                int capacity = (int) Math.min(Integer.MAX_VALUE - 8, Math.max(needed, 2L * buf.capacity()));
                if (capacity < needed) {
                    throw new IllegalArgumentException("GGUF header larger than 2 GB");
                }
                buf = ByteBuffer.wrap(Arrays.copyOf(buf.array(), capacity)).order(ByteOrder.LITTLE_ENDIAN)
                        .position(buf.position());
            }
        }

        void u8(int v) {
            ensure(1);
            buf.put((byte) v);
        }

        void u16(int v) {
            ensure(2);
            buf.putShort((short) v);
        }

        void u32(int v) {
            ensure(4);
            buf.putInt(v);
        }

        void u64(long v) {
            ensure(8);
            buf.putLong(v);
        }

        void string(String s) {
            byte[] bytes = s.getBytes(StandardCharsets.UTF_8);
            u64(bytes.length);
            ensure(bytes.length);
            buf.put(bytes);
        }
    }

    /** Counts the bytes written through it. */
    private static final class CountingChannel implements WritableByteChannel {
        private final WritableByteChannel out;
        long count;

        CountingChannel(WritableByteChannel out) {
            this.out = out;
        }

        @Override
        public int write(ByteBuffer src) throws IOException {
            int n = out.write(src);
            count += n;
            return n;
        }

        @Override
        public boolean isOpen() {
            return out.isOpen();
        }

        @Override
        public void close() {
            // the underlying channel belongs to the writer
        }
    }
}
