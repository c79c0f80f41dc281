package dev.ultrakv.model.gguf;

import dev.ultrakv.model.ModelFormatException;
import dev.ultrakv.tensor.GgmlType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CharsetDecoder;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import java.util.Set;

/**
 * Parses the header, metadata and tensor infos of a GGUF file held in a {@link MemorySegment}, checking every
 * read against the end of the segment so that a truncated or corrupt file gives a {@link ModelFormatException}
 * that says where, never an {@link IndexOutOfBoundsException}.
 *
 * <p>Not thread-safe; one instance parses one file.
 */
final class GgufParser {

    /** Little-endian, unaligned layouts: GGUF fields are packed with no alignment. */
    static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfInt U32 = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfLong U64 = ValueLayout.JAVA_LONG_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfDouble F64 = ValueLayout.JAVA_DOUBLE_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /** Magic, version, tensor count, metadata count. */
    static final int HEADER_BYTES = 4 + 4 + 8 + 8;
    /** Smallest key-value pair: an empty key (8-byte length), the value type, a 1-byte value. */
    private static final int MIN_KV_BYTES = 8 + 4 + 1;
    /** Smallest tensor info: an empty name (8-byte length), n_dims, type, offset. */
    private static final int MIN_TENSOR_INFO_BYTES = 8 + 4 + 4 + 8;
    /** More metadata keys or tensors than any real model has (the largest have a few thousand tensors). */
    private static final long MAX_PLAUSIBLE_COUNT = 1L << 24;
    /** GGML_MAX_DIMS: ggml tensors have at most four dimensions. */
    static final int MAX_DIMS = 4;
    /** Largest alignment accepted; real files use 32, and more than this is surely corruption. */
    static final long MAX_ALIGNMENT = 1L << 30;

    /**
     * Names of the GGML type ids of current llama.cpp, for error messages about types UltraKV does not support.
     * Ids 4, 5 and 31-33, 36-38 were removed from ggml.
     */
    private static final String[] GGML_TYPE_NAMES = {
        "F32", "F16", "Q4_0", "Q4_1", null, null, "Q5_0", "Q5_1", "Q8_0", "Q8_1", "Q2_K", "Q3_K", "Q4_K",
        "Q5_K", "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS",
        "I8", "I16", "I32", "I64", "F64", "IQ1_M", "BF16", null, null, null, "TQ1_0", "TQ2_0", null, null, null,
        "MXFP4",
    };

    /** What was parsed: everything before the tensor data. */
    record Header(int version, SequencedMap<String, GgufValue> metadata, List<GgufTensorInfo> tensors,
                  int alignment, long dataOffset) {
    }

    private final MemorySegment seg;
    private final long size;
    private final String source;
    private final CharsetDecoder utf8 = StandardCharsets.UTF_8.newDecoder()
            .onMalformedInput(CodingErrorAction.REPORT)
            .onUnmappableCharacter(CodingErrorAction.REPORT);
    private long pos;
    /** What is being read, for error messages, e.g. "the value of metadata key 'general.name'". */
    private String where = "the header";

    GgufParser(MemorySegment seg, String source) {
        this.seg = seg;
        this.size = seg.byteSize();
        this.source = source;
    }

    Header parse() {
        if (size < 4) {
            throw fail("not a GGUF file (only " + size + " bytes; a GGUF file starts with the magic 'GGUF')");
        }
        int magic = u32();
        if (magic != GgufFile.MAGIC) {
            throw fail(String.format("not a GGUF file (magic 0x%08x, expected 0x%08x 'GGUF')", magic,
                    GgufFile.MAGIC));
        }
        int version = u32();
        checkVersion(version);
        long tensorCount = u64();
        long kvCount = u64();
        checkCount(kvCount, MIN_KV_BYTES, "metadata key-value pairs");
        checkCount(tensorCount, MIN_TENSOR_INFO_BYTES, "tensors");

        SequencedMap<String, GgufValue> metadata = new LinkedHashMap<>();
        for (long i = 0; i < kvCount; i++) {
            where = "metadata key #" + i;
            String key = string();
            if (metadata.containsKey(key)) {
                throw fail("duplicate metadata key '" + key + "'");
            }
            where = "the value of metadata key '" + key + "'";
            int typeId = u32();
            GgufValueType type = GgufValueType.fromId(typeId);
            if (type == null) {
                throw fail("metadata key '" + key + "' has unknown value type " + Integer.toUnsignedString(typeId)
                        + " (GGUF value types are 0 to 12)");
            }
            metadata.put(key, value(type, key));
        }
        int alignment = alignment(metadata);

        // Room for the tensor infos that the rest of the file can hold, not for what a corrupt count claims.
        int room = (int) Math.min(Math.min(tensorCount, MAX_PLAUSIBLE_COUNT), (size - pos) / MIN_TENSOR_INFO_BYTES);
        List<GgufTensorInfo> tensors = new ArrayList<>(room);
        Set<String> names = new HashSet<>();
        for (long i = 0; i < tensorCount; i++) {
            where = "tensor info #" + i;
            GgufTensorInfo info = tensorInfo();
            if (!names.add(info.name())) {
                throw fail("duplicate tensor '" + info.name() + "'");
            }
            tensors.add(info);
        }
        long dataOffset = GgufFile.alignUp(pos, alignment);
        if (dataOffset > size) {
            if (!tensors.isEmpty()) {
                throw fail("truncated file: the tensor data should start at byte " + dataOffset
                        + " but the file has only " + size + " bytes");
            }
            dataOffset = size; // no tensors: a missing final padding is harmless
        }
        return new Header(version, metadata, tensors, alignment, dataOffset);
    }

    private void checkVersion(int version) {
        if (version == 2 || version == 3) {
            return;
        }
        int swapped = Integer.reverseBytes(version);
        if (swapped == 2 || swapped == 3) {
            throw fail("big-endian GGUF file (version " + swapped + "); only little-endian files are supported");
        }
        if (version == 1) {
            throw fail("GGUF version 1 is not supported (supported: 2, 3); convert the model with a newer llama.cpp");
        }
        throw fail("unsupported GGUF version " + Integer.toUnsignedString(version) + " (supported: 2, 3)");
    }

    /**
     * Rejects a count of items that cannot be right: beyond any real model and more than the file could hold.
     * A count that is merely more than the rest of the file holds is reported as truncation, where the reading
     * runs out.
     */
    private void checkCount(long count, int minBytesEach, String what) {
        if (count < 0 || (count > MAX_PLAUSIBLE_COUNT && count > size / minBytesEach)) {
            throw fail("absurd number of " + what + ": " + Long.toUnsignedString(count) + " (a file of " + size
                    + " bytes holds at most " + size / minBytesEach + "); corrupt file?");
        }
    }

    private int alignment(SequencedMap<String, GgufValue> metadata) {
        try {
            return GgufFile.alignmentOf(metadata);
        } catch (IllegalArgumentException e) {
            throw fail(e.getMessage());
        }
    }

    private GgufTensorInfo tensorInfo() {
        String name = string();
        where = "tensor info '" + name + "'";
        int nDims = u32();
        if (nDims < 0 || nDims > MAX_DIMS) {
            throw fail("tensor '" + name + "' has " + Integer.toUnsignedString(nDims)
                    + " dimensions (at most " + MAX_DIMS + ")");
        }
        long[] shape = new long[nDims];
        long elements = 1;
        for (int d = 0; d < nDims; d++) {
            shape[d] = u64();
            if (shape[d] < 0) {
                throw fail("tensor '" + name + "' has an absurd dimension " + Long.toUnsignedString(shape[d]));
            }
            try {
                elements = Math.multiplyExact(elements, shape[d]);
            } catch (ArithmeticException e) {
                throw fail("tensor '" + name + "' has an absurd shape " + Arrays.toString(shape)
                        + " (more than 2^63 elements)");
            }
        }
        int typeId = u32();
        GgmlType type = GgmlType.fromId(typeId);
        if (type == null) {
            throw fail("tensor '" + name + "' has GGML type " + ggmlTypeName(typeId)
                    + ", which UltraKV does not support (supported: " + supportedTypes() + ")");
        }
        if (nDims > 0 && shape[0] % type.blockSize() != 0) {
            throw fail("tensor '" + name + "' has rows of " + shape[0] + " elements, not a multiple of " + type
                    + "'s block size " + type.blockSize());
        }
        long offset = u64();
        if (offset < 0) {
            throw fail("tensor '" + name + "' has an absurd offset " + Long.toUnsignedString(offset));
        }
        return new GgufTensorInfo(name, shape, type, offset);
    }

    /** "Q4_K (id 12)", or "id 99" for ids ggml does not define. */
    static String ggmlTypeName(int id) {
        String name = id >= 0 && id < GGML_TYPE_NAMES.length ? GGML_TYPE_NAMES[id] : null;
        return name == null ? "id " + Integer.toUnsignedString(id) : name + " (id " + id + ")";
    }

    /** "F32 (0), F16 (1), ...". */
    static String supportedTypes() {
        StringBuilder sb = new StringBuilder();
        for (GgmlType t : GgmlType.values()) {
            sb.append(sb.isEmpty() ? "" : ", ").append(t).append(" (").append(t.id()).append(')');
        }
        return sb.toString();
    }

    private GgufValue value(GgufValueType type, String key) {
        return switch (type) {
            case UINT8 -> new GgufValue.Int(type, Byte.toUnsignedLong(u8()));
            case INT8 -> new GgufValue.Int(type, u8());
            case UINT16 -> new GgufValue.Int(type, Short.toUnsignedLong(u16()));
            case INT16 -> new GgufValue.Int(type, u16());
            case UINT32 -> new GgufValue.Int(type, Integer.toUnsignedLong(u32()));
            case INT32 -> new GgufValue.Int(type, u32());
            case UINT64, INT64 -> new GgufValue.Int(type, u64());
            case FLOAT32 -> new GgufValue.Float32(Float.intBitsToFloat(u32()));
            case FLOAT64 -> new GgufValue.Float64(Double.longBitsToDouble(u64()));
            case BOOL -> new GgufValue.Bool(bool());
            case STRING -> new GgufValue.Str(string());
            case ARRAY -> array(key);
        };
    }

    private GgufValue.Array array(String key) {
        int typeId = u32();
        GgufValueType elementType = GgufValueType.fromId(typeId);
        if (elementType == null) {
            throw fail("metadata array '" + key + "' has unknown element type " + Integer.toUnsignedString(typeId)
                    + " (GGUF value types are 0 to 12)");
        }
        if (elementType == GgufValueType.ARRAY) {
            throw fail("metadata array '" + key + "' holds arrays; nested arrays are not supported");
        }
        long count = u64();
        long left = size - pos;
        if (count < 0 || count > Integer.MAX_VALUE - 8 || count * elementType.minBytes() > left) {
            if (count >= 0 && count <= size / elementType.minBytes()) {
                throw truncated();
            }
            throw fail("absurd length " + Long.toUnsignedString(count) + " of metadata array '" + key
                    + "' (the remaining " + left + " bytes hold at most " + left / elementType.minBytes()
                    + " elements of " + elementType + ")");
        }
        int n = (int) count;
        return switch (elementType) {
            case UINT8, INT8, UINT16, INT16, UINT32, INT32, UINT64, INT64 -> {
                long[] values = new long[n];
                for (int i = 0; i < n; i++) {
                    values[i] = ((GgufValue.Int) value(elementType, key)).value();
                }
                yield new GgufValue.IntArray(elementType, values);
            }
            case FLOAT32 -> {
                float[] values = new float[n];
                MemorySegment.copy(seg, F32, pos, values, 0, n);
                pos += 4L * n;
                yield new GgufValue.Float32Array(values);
            }
            case FLOAT64 -> {
                double[] values = new double[n];
                MemorySegment.copy(seg, F64, pos, values, 0, n);
                pos += 8L * n;
                yield new GgufValue.Float64Array(values);
            }
            case BOOL -> {
                boolean[] values = new boolean[n];
                for (int i = 0; i < n; i++) {
                    values[i] = bool();
                }
                yield new GgufValue.BoolArray(values);
            }
            case STRING -> {
                List<String> values = new ArrayList<>(n);
                for (int i = 0; i < n; i++) {
                    values.add(string());
                }
                yield new GgufValue.StrArray(values);
            }
            case ARRAY -> throw new AssertionError("rejected above");
        };
    }

    private boolean bool() {
        byte b = u8();
        if (b != 0 && b != 1) {
            throw fail("invalid boolean " + Byte.toUnsignedInt(b) + " in " + where + " (must be 0 or 1)");
        }
        return b == 1;
    }

    private String string() {
        long length = u64();
        long left = size - pos;
        if (length < 0 || length > left) {
            if (length >= 0 && length <= size) {
                throw truncated();
            }
            throw fail("absurd string length " + Long.toUnsignedString(length) + " in " + where
                    + " (the file has only " + size + " bytes)");
        }
        if (length > Integer.MAX_VALUE - 8) {
            throw fail("string of " + length + " bytes in " + where + " is too long");
        }
        ByteBuffer bytes = seg.asSlice(pos, length).asByteBuffer();
        pos += length;
        try {
            return utf8.decode(bytes).toString();
        } catch (CharacterCodingException e) {
            throw new ModelFormatException(source, "invalid UTF-8 in a string in " + where, e);
        }
    }

    private byte u8() {
        need(1);
        byte v = seg.get(ValueLayout.JAVA_BYTE, pos);
        pos += 1;
        return v;
    }

    private short u16() {
        need(2);
        short v = seg.get(U16, pos);
        pos += 2;
        return v;
    }

    private int u32() {
        need(4);
        int v = seg.get(U32, pos);
        pos += 4;
        return v;
    }

    private long u64() {
        need(8);
        long v = seg.get(U64, pos);
        pos += 8;
        return v;
    }

    private void need(long bytes) {
        if (bytes > size - pos) {
            throw truncated();
        }
    }

    private ModelFormatException truncated() {
        return fail("truncated file: it ends (at byte " + size + ") inside " + where);
    }

    private ModelFormatException fail(String problem) {
        return new ModelFormatException(source, problem);
    }
}
