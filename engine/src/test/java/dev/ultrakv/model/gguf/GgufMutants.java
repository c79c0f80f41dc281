package dev.ultrakv.model.gguf;

import dev.ultrakv.tensor.GgmlType;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Mutants of GGUF files for robustness tests, made in memory from the bytes of a valid file (normally the
 * shipped {@code models/stories260K.gguf}): a metadata integer overwritten by key, a tensor element set, bytes
 * flipped at seeded positions, a truncation. Every method returns a new array and leaves its input alone.
 *
 * <p>Offsets are found by parsing the original: the metadata by a small scanner of the key-value section (which
 * records where each value lies, something the real parser has no reason to keep), the tensors by
 * {@link GgufParser}.
 */
public final class GgufMutants {
    /** The shipped model, relative to a module's folder (where Maven runs the tests). */
    public static final Path STORIES_260K = Path.of("../models/stories260K.gguf");

    private static byte[] stories;

    private GgufMutants() {
    }

    /** A copy of the bytes of {@code models/stories260K.gguf}. */
    public static synchronized byte[] stories260K() {
        if (stories == null) {
            try {
                stories = Files.readAllBytes(STORIES_260K);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read " + STORIES_260K.toAbsolutePath(), e);
            }
        }
        return stories.clone();
    }

    /**
     * {@code gguf} with the integer metadata value of {@code key} replaced by {@code value}, written in the
     * field's own width (the low 1, 2, 4 or 8 bytes, little-endian), so that nothing else moves: 2^32-1 and -1
     * give the same bytes in a UINT32 field.
     *
     * @throws IllegalArgumentException if the file has no such key or its value is not an integer
     */
    public static byte[] withMetadataInt(byte[] gguf, String key, long value) {
        Field field = metadataFields(gguf).stream().filter(f -> f.key().equals(key)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no metadata key '" + key + "'"));
        if (!field.type().isInteger()) {
            throw new IllegalArgumentException("metadata key '" + key + "' has type " + field.type());
        }
        byte[] out = gguf.clone();
        for (int i = 0; i < field.type().minBytes(); i++) {
            out[field.valueOffset() + i] = (byte) (value >>> (8 * i));
        }
        return out;
    }

    /** The keys of the metadata values of an integer type, in file order. */
    public static List<String> integerKeys(byte[] gguf) {
        return metadataFields(gguf).stream().filter(f -> f.type().isInteger()).map(Field::key).toList();
    }

    /**
     * {@code gguf} with element {@code index} of the F32 tensor {@code tensor} set to {@code value}.
     *
     * @throws IllegalArgumentException if there is no such F32 tensor or element
     */
    public static byte[] withTensorFloat(byte[] gguf, String tensor, int index, float value) {
        GgufParser.Header h = parse(gguf);
        GgufTensorInfo info = h.tensors().stream().filter(t -> t.name().equals(tensor)).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("no tensor '" + tensor + "'"));
        if (info.type() != GgmlType.F32 || index < 0 || index >= info.elementCount()) {
            throw new IllegalArgumentException("tensor " + info + " has no F32 element " + index);
        }
        byte[] out = gguf.clone();
        int at = Math.toIntExact(h.dataOffset() + info.offset() + 4L * index);
        ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putFloat(at, value);
        return out;
    }

    /**
     * {@code gguf} with the GGML type id of tensor {@code tensor} replaced by {@code typeId} (shape and offset
     * unchanged, so the data is read as another type: F32 weights read as F16 hold NaN).
     *
     * @throws IllegalArgumentException if there is no such tensor
     */
    public static byte[] withTensorType(byte[] gguf, String tensor, int typeId) {
        ByteBuffer in = ByteBuffer.wrap(gguf).order(ByteOrder.LITTLE_ENDIAN);
        in.position(4 + 4);
        long tensors = in.getLong();
        List<Field> fields = metadataFields(gguf);
        in.position(fields.isEmpty() ? 4 + 4 + 8 + 8 : endOfMetadata(in, fields.getLast()));
        for (long i = 0; i < tensors; i++) {
            String name = string(in);
            int dims = in.getInt();
            in.position(in.position() + 8 * dims);
            if (name.equals(tensor)) {
                byte[] out = gguf.clone();
                ByteBuffer.wrap(out).order(ByteOrder.LITTLE_ENDIAN).putInt(in.position(), typeId);
                return out;
            }
            in.position(in.position() + 4 + 8);
        }
        throw new IllegalArgumentException("no tensor '" + tensor + "'");
    }

    /** Where the tensor data section starts: before it lie the header, the metadata and the tensor infos. */
    public static int tensorDataOffset(byte[] gguf) {
        return Math.toIntExact(parse(gguf).dataOffset());
    }

    /** {@code gguf} with the bits of {@code mask} flipped in the byte at {@code offset}. */
    public static byte[] flipBits(byte[] gguf, int offset, int mask) {
        byte[] out = gguf.clone();
        out[offset] ^= (byte) mask;
        return out;
    }

    /** {@code gguf} with {@code count} bytes anywhere changed to other values, at positions drawn from seed. */
    public static byte[] flipBytes(byte[] gguf, long seed, int count) {
        return flipBytes(gguf, seed, count, 0, gguf.length);
    }

    /**
     * {@code gguf} with {@code count} bytes in {@code [from, to)} changed to other values: positions and values
     * drawn from {@code seed}, so the same seed gives the same mutant.
     */
    public static byte[] flipBytes(byte[] gguf, long seed, int count, int from, int to) {
        if (from < 0 || to > gguf.length || from >= to) {
            throw new IllegalArgumentException("range [" + from + ", " + to + ") of " + gguf.length + " bytes");
        }
        Random random = new Random(seed);
        byte[] out = gguf.clone();
        for (int i = 0; i < count; i++) {
            int at = from + random.nextInt(to - from);
            out[at] ^= (byte) (1 + random.nextInt(255)); // never 0: the byte always changes
        }
        return out;
    }

    /** The first {@code length} bytes of {@code gguf}. */
    public static byte[] truncate(byte[] gguf, int length) {
        if (length < 0 || length > gguf.length) {
            throw new IllegalArgumentException("length " + length + " of " + gguf.length + " bytes");
        }
        return Arrays.copyOf(gguf, length);
    }

    // ---------------------------------------------------------------------------------------------------------

    /** One metadata value: its key, its type and where its bytes start in the file. */
    record Field(String key, GgufValueType type, int valueOffset) {
    }

    private static GgufParser.Header parse(byte[] gguf) {
        return new GgufParser(MemorySegment.ofArray(gguf), "<mutant>").parse();
    }

    /** Walks the key-value section of a valid file, recording where each value lies. */
    static List<Field> metadataFields(byte[] gguf) {
        ByteBuffer in = ByteBuffer.wrap(gguf).order(ByteOrder.LITTLE_ENDIAN);
        if (in.getInt(0) != GgufFile.MAGIC) {
            throw new IllegalArgumentException("not a GGUF file");
        }
        in.position(4 + 4 + 8);
        long count = in.getLong();
        List<Field> fields = new ArrayList<>();
        for (long i = 0; i < count; i++) {
            String key = string(in);
            GgufValueType type = GgufValueType.fromId(in.getInt());
            fields.add(new Field(key, type, in.position()));
            skipValue(in, type);
        }
        return fields;
    }

    /** The position after the value of {@code last}, the last metadata field. */
    private static int endOfMetadata(ByteBuffer in, Field last) {
        in.position(last.valueOffset());
        skipValue(in, last.type());
        return in.position();
    }

    private static String string(ByteBuffer in) {
        byte[] bytes = new byte[Math.toIntExact(in.getLong())];
        in.get(bytes);
        return new String(bytes, StandardCharsets.UTF_8);
    }

    private static void skipValue(ByteBuffer in, GgufValueType type) {
        switch (type) {
            case STRING -> {
                long length = in.getLong();
                in.position(Math.toIntExact(in.position() + length));
            }
            case ARRAY -> {
                GgufValueType element = GgufValueType.fromId(in.getInt());
                long n = in.getLong();
                for (long i = 0; i < n; i++) {
                    skipValue(in, element);
                }
            }
            default -> in.position(in.position() + type.minBytes());
        }
    }
}
