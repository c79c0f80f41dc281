package dev.ultrakv.model.gguf;

import dev.ultrakv.model.ModelFormatException;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.SequencedMap;

/**
 * A GGUF model file: its metadata (in file order, with exact value types), its tensor infos (in file order,
 * also by name) and its tensor data.
 *
 * <p>{@link #read(Path)} memory-maps a file read-only; {@link #of} wraps metadata, tensor infos and a data
 * segment built in memory (synthetic models). Either way the tensors are validated: supported types, whole
 * blocks, aligned offsets, in bounds, no overlaps. Instances are immutable and may be shared between threads;
 * {@link #close()} releases the mapping (or the arena handed to {@code of}), after which tensor data must not be
 * touched.
 *
 * <h2>Layout of a GGUF file (v2 and v3, little-endian)</h2>
 * <pre>
 *   magic "GGUF" (uint32 0x46554747) | version uint32 | tensor_count uint64 | metadata_kv_count uint64
 *   metadata: key (uint64 length + UTF-8) | value type uint32 | value            x metadata_kv_count
 *   tensor infos: name | n_dims uint32 | dims uint64[n_dims] | ggml type uint32 | offset uint64   x tensor_count
 *   zero padding to general.alignment (default 32)
 *   tensor data: each tensor at its offset from here, a multiple of the alignment
 * </pre>
 */
public final class GgufFile implements AutoCloseable {

    /** "GGUF" read as a little-endian uint32. */
    public static final int MAGIC = 0x46554747;
    /** The version new files get. Version 2 is read too: same layout (3 only added big-endian files). */
    public static final int VERSION = 3;
    /** Alignment of the tensor data when the metadata has no {@link #ALIGNMENT_KEY}, per the GGUF spec. */
    public static final int DEFAULT_ALIGNMENT = 32;
    /** Metadata key of the tensor data alignment (a uint32 power of two). */
    public static final String ALIGNMENT_KEY = "general.alignment";

    private final String source;
    private final int version;
    private final SequencedMap<String, GgufValue> metadata;
    private final List<GgufTensorInfo> tensors;
    private final Map<String, GgufTensorInfo> tensorsByName;
    private final int alignment;
    private final MemorySegment data;
    private final long dataOffset;
    /** Closed by {@link #close()}; {@code null} when the caller owns the data's memory. */
    private final Arena arena;

    private GgufFile(String source, int version, SequencedMap<String, GgufValue> metadata,
                     List<GgufTensorInfo> tensors, int alignment, MemorySegment data, long dataOffset, Arena arena) {
        this.source = source;
        this.version = version;
        this.metadata = Collections.unmodifiableSequencedMap(new LinkedHashMap<>(metadata));
        this.tensors = List.copyOf(tensors);
        Map<String, GgufTensorInfo> byName = new HashMap<>();
        for (GgufTensorInfo t : this.tensors) {
            if (byName.put(t.name(), t) != null) {
                throw new ModelFormatException(source, "duplicate tensor '" + t.name() + "'");
            }
        }
        this.tensorsByName = byName;
        this.alignment = alignment;
        this.data = data;
        this.dataOffset = dataOffset;
        this.arena = arena;
        validateTensors(dataOffset);
    }

    /**
     * Memory-maps and parses a GGUF file.
     *
     * @throws ModelFormatException if the file is missing, not a regular file, not GGUF, of an unsupported
     *                              version, truncated or corrupt, or holds tensors of unsupported types
     * @throws IOException          if reading fails for another reason (e.g. permissions)
     */
    public static GgufFile read(Path path) throws IOException {
        Objects.requireNonNull(path, "path");
        if (!Files.exists(path)) {
            throw new ModelFormatException(path, "file not found");
        }
        if (!Files.isRegularFile(path)) {
            String what = Files.isDirectory(path) ? " (a directory)" : "";
            throw new ModelFormatException(path, "not a regular file" + what);
        }
        Arena arena = Arena.ofShared();
        try {
            MemorySegment file;
            try (FileChannel channel = FileChannel.open(path, StandardOpenOption.READ)) {
                file = channel.map(FileChannel.MapMode.READ_ONLY, 0, channel.size(), arena);
            } catch (NoSuchFileException e) {
                throw new ModelFormatException(path, "file not found", e);
            }
            String source = path.toString();
            GgufParser.Header h = new GgufParser(file, source).parse();
            MemorySegment data = file.asSlice(h.dataOffset());
            return new GgufFile(source, h.version(), h.metadata(), h.tensors(), h.alignment(), data, h.dataOffset(),
                    arena);
        } catch (RuntimeException | IOException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * An in-memory GGUF file (version {@value #VERSION}) whose memory the caller manages.
     *
     * @param name     a name for error messages, e.g. {@code "<synthetic test-tiny>"}
     * @param metadata the metadata in file order; {@link #ALIGNMENT_KEY}, if present, sets the alignment
     * @param tensors  the tensors in file order, with offsets into {@code data}
     * @param data     the tensor data section
     * @throws ModelFormatException if the alignment or a tensor's offset or size is invalid
     */
    public static GgufFile of(String name, SequencedMap<String, GgufValue> metadata, List<GgufTensorInfo> tensors,
                              MemorySegment data) {
        return of(name, metadata, tensors, data, null);
    }

    /**
     * As {@link #of(String, SequencedMap, List, MemorySegment)}, but {@link #close()} closes {@code owner}
     * (the arena that allocated {@code data}).
     */
    public static GgufFile of(String name, SequencedMap<String, GgufValue> metadata, List<GgufTensorInfo> tensors,
                              MemorySegment data, Arena owner) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(data, "data");
        int alignment;
        try {
            alignment = alignmentOf(metadata);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(name, e.getMessage());
        }
        return new GgufFile(name, VERSION, metadata, tensors, alignment, data, 0, owner);
    }

    /** Where this file came from: its path as given to {@link #read}, or the name given to {@link #of}. */
    public String source() {
        return source;
    }

    /** The GGUF version: 2 or 3. */
    public int version() {
        return version;
    }

    /** The alignment of the tensor data: {@link #ALIGNMENT_KEY}, or {@value #DEFAULT_ALIGNMENT}. */
    public int alignment() {
        return alignment;
    }

    /** All metadata, unmodifiable, in file order. */
    public SequencedMap<String, GgufValue> metadata() {
        return metadata;
    }

    /** The tensor infos, in file order. */
    public List<GgufTensorInfo> tensors() {
        return tensors;
    }

    /** The tensor named {@code name}, if present. */
    public Optional<GgufTensorInfo> findTensor(String name) {
        return Optional.ofNullable(tensorsByName.get(name));
    }

    /**
     * The tensor named {@code name}.
     *
     * @throws ModelFormatException if there is none
     */
    public GgufTensorInfo tensor(String name) {
        GgufTensorInfo t = tensorsByName.get(name);
        if (t == null) {
            throw new ModelFormatException(source, "missing tensor '" + name + "'");
        }
        return t;
    }

    /** The whole tensor data section (read-only for a file read from disk). */
    public MemorySegment data() {
        return data;
    }

    /** Byte offset of the tensor data section in the file; 0 for an in-memory file. */
    public long dataOffset() {
        return dataOffset;
    }

    /**
     * The bytes of {@code tensor}.
     *
     * @throws IllegalArgumentException if this file has no tensor of that name
     */
    public MemorySegment tensorData(GgufTensorInfo tensor) {
        GgufTensorInfo own = tensorsByName.get(tensor.name());
        if (own == null) {
            throw new IllegalArgumentException(source + " has no tensor '" + tensor.name() + "'");
        }
        return data.asSlice(own.offset(), own.byteSize());
    }

    /**
     * The bytes of the tensor named {@code name}.
     *
     * @throws ModelFormatException if there is none
     */
    public MemorySegment tensorData(String name) {
        return tensorData(tensor(name));
    }

    // ---------------------------------------------------------------------------------------------------------
    // Metadata getters. Integer getters accept every integer type whose value fits; a missing key or a value of
    // the wrong type is a ModelFormatException naming the key and the file.

    /** Whether the metadata has {@code key}. */
    public boolean has(String key) {
        return metadata.containsKey(key);
    }

    /** The value of {@code key}, if present. */
    public Optional<GgufValue> find(String key) {
        return Optional.ofNullable(metadata.get(key));
    }

    /**
     * The value of {@code key}.
     *
     * @throws ModelFormatException if it is missing
     */
    public GgufValue get(String key) {
        GgufValue v = metadata.get(key);
        if (v == null) {
            throw new ModelFormatException(source, "missing metadata key '" + key + "'");
        }
        return v;
    }

    /** {@code key} as an int: any integer type whose value fits. */
    public int getInt(String key) {
        long v = getLong(key);
        if (v != (int) v) {
            throw new ModelFormatException(source, "metadata key '" + key + "' = " + v + " does not fit in an int");
        }
        return (int) v;
    }

    /** {@code key} as an int, or {@code defaultValue} when missing. */
    public int getIntOrDefault(String key, int defaultValue) {
        return has(key) ? getInt(key) : defaultValue;
    }

    /** {@code key} as a long: any integer type whose value fits (a {@code UINT64} below 2^63). */
    public long getLong(String key) {
        if (get(key) instanceof GgufValue.Int(GgufValueType type, long value)) {
            if (type == GgufValueType.UINT64 && value < 0) {
                throw new ModelFormatException(source, "metadata key '" + key + "' = "
                        + Long.toUnsignedString(value) + " does not fit in a long");
            }
            return value;
        }
        throw wrongType(key, "an integer");
    }

    /** {@code key} as a long, or {@code defaultValue} when missing. */
    public long getLongOrDefault(String key, long defaultValue) {
        return has(key) ? getLong(key) : defaultValue;
    }

    /** {@code key} as a float: a {@code FLOAT32}, a {@code FLOAT64} (rounded) or an integer. */
    public float getFloat(String key) {
        return switch (get(key)) {
            case GgufValue.Float32 f -> f.value();
            case GgufValue.Float64 d -> (float) d.value();
            case GgufValue.Int i -> i.type() == GgufValueType.UINT64 && i.value() < 0
                    ? Float.parseFloat(Long.toUnsignedString(i.value())) : (float) i.value();
            default -> throw wrongType(key, "a number");
        };
    }

    /** {@code key} as a float, or {@code defaultValue} when missing. */
    public float getFloatOrDefault(String key, float defaultValue) {
        return has(key) ? getFloat(key) : defaultValue;
    }

    /** {@code key} as a string. */
    public String getString(String key) {
        if (get(key) instanceof GgufValue.Str(String value)) {
            return value;
        }
        throw wrongType(key, "a string");
    }

    /** {@code key} as a string, or {@code defaultValue} when missing. */
    public String getStringOrDefault(String key, String defaultValue) {
        return has(key) ? getString(key) : defaultValue;
    }

    /** {@code key} as a boolean. */
    public boolean getBoolean(String key) {
        if (get(key) instanceof GgufValue.Bool(boolean value)) {
            return value;
        }
        throw wrongType(key, "a boolean");
    }

    /** {@code key} as a boolean, or {@code defaultValue} when missing. */
    public boolean getBooleanOrDefault(String key, boolean defaultValue) {
        return has(key) ? getBoolean(key) : defaultValue;
    }

    /** {@code key}, an array of strings, as a new array. */
    public String[] getStringArray(String key) {
        if (get(key) instanceof GgufValue.StrArray a) {
            return a.values().toArray(String[]::new);
        }
        throw wrongType(key, "an array of strings");
    }

    /** {@code key} as a string array, or {@code defaultValue} when missing. */
    public String[] getStringArrayOrDefault(String key, String[] defaultValue) {
        return has(key) ? getStringArray(key) : defaultValue;
    }

    /** {@code key}, an array of numbers (normally {@code FLOAT32}), as a new float array. */
    public float[] getFloatArray(String key) {
        return switch (get(key)) {
            case GgufValue.Float32Array a -> a.values();
            case GgufValue.Float64Array a -> {
                double[] d = a.values();
                float[] f = new float[d.length];
                for (int i = 0; i < d.length; i++) {
                    f[i] = (float) d[i];
                }
                yield f;
            }
            case GgufValue.IntArray a when a.elementType() != GgufValueType.UINT64 -> {
                float[] f = new float[a.size()];
                for (int i = 0; i < f.length; i++) {
                    f[i] = a.get(i);
                }
                yield f;
            }
            default -> throw wrongType(key, "an array of numbers");
        };
    }

    /** {@code key} as a float array, or {@code defaultValue} when missing. */
    public float[] getFloatArrayOrDefault(String key, float[] defaultValue) {
        return has(key) ? getFloatArray(key) : defaultValue;
    }

    /** {@code key}, an array of integers of any type whose values all fit, as a new int array. */
    public int[] getIntArray(String key) {
        if (get(key) instanceof GgufValue.IntArray a) {
            int[] out = new int[a.size()];
            for (int i = 0; i < out.length; i++) {
                long v = a.get(i);
                if (v != (int) v || (a.elementType() == GgufValueType.UINT64 && v < 0)) {
                    throw new ModelFormatException(source, "element " + i + " of metadata array '" + key + "' = "
                            + (a.elementType().isUnsigned() ? Long.toUnsignedString(v) : v)
                            + " does not fit in an int");
                }
                out[i] = (int) v;
            }
            return out;
        }
        throw wrongType(key, "an array of integers");
    }

    /** {@code key} as an int array, or {@code defaultValue} when missing. */
    public int[] getIntArrayOrDefault(String key, int[] defaultValue) {
        return has(key) ? getIntArray(key) : defaultValue;
    }

    private ModelFormatException wrongType(String key, String expected) {
        GgufValue v = metadata.get(key);
        String actual = v instanceof GgufValue.Array a ? "ARRAY of " + a.elementType() : v.type().toString();
        return new ModelFormatException(source, "metadata key '" + key + "' has type " + actual + ", expected "
                + expected);
    }

    /** Releases the memory mapping (or the owning arena). Idempotent. */
    @Override
    public void close() {
        if (arena != null && arena.scope().isAlive()) {
            arena.close();
        }
    }

    @Override
    public String toString() {
        return "GgufFile[" + source + ", v" + version + ", " + metadata.size() + " metadata keys, " + tensors.size()
                + " tensors]";
    }

    // ---------------------------------------------------------------------------------------------------------

    /** {@code value} rounded up to a multiple of {@code alignment} (a power of two). */
    static long alignUp(long value, long alignment) {
        return (value + alignment - 1) & -alignment;
    }

    /**
     * The alignment that {@code metadata} sets.
     *
     * @throws IllegalArgumentException (with a message for the user) if it is not a positive power of two
     */
    static int alignmentOf(Map<String, GgufValue> metadata) {
        GgufValue v = metadata.get(ALIGNMENT_KEY);
        if (v == null) {
            return DEFAULT_ALIGNMENT;
        }
        if (!(v instanceof GgufValue.Int(GgufValueType type, long value))) {
            throw new IllegalArgumentException(ALIGNMENT_KEY + " has type " + v.type() + ", expected UINT32");
        }
        if (value <= 0 || value > GgufParser.MAX_ALIGNMENT || Long.bitCount(value) != 1) {
            String shown = type.isUnsigned() ? Long.toUnsignedString(value) : Long.toString(value);
            throw new IllegalArgumentException(ALIGNMENT_KEY + " " + shown + " is not a power of two between 1 and "
                    + GgufParser.MAX_ALIGNMENT);
        }
        return (int) value;
    }

    /**
     * Checks that every tensor is aligned, lies inside the data section and overlaps no other.
     *
     * @param fileOffset where the data section starts in the file, to report file positions
     */
    private void validateTensors(long fileOffset) {
        long dataSize = data.byteSize();
        for (GgufTensorInfo t : tensors) {
            long bytes;
            try {
                bytes = t.byteSize();
            } catch (IllegalArgumentException e) {
                throw new ModelFormatException(source, "tensor '" + t.name() + "': " + e.getMessage());
            }
            if (t.offset() < 0 || t.offset() % alignment != 0) {
                throw new ModelFormatException(source, "tensor '" + t.name() + "' has offset " + t.offset()
                        + ", not a multiple of the alignment " + alignment);
            }
            if (bytes > dataSize - t.offset()) {
                throw new ModelFormatException(source, "truncated file: tensor '" + t.name() + "' needs bytes "
                        + (fileOffset + t.offset()) + " to " + (fileOffset + t.offset() + bytes) + " but the "
                        + (fileOffset > 0 ? "file has only " : "data has only ") + (fileOffset + dataSize)
                        + " bytes");
            }
        }
        List<GgufTensorInfo> byOffset = new ArrayList<>(tensors);
        byOffset.sort(Comparator.comparingLong(GgufTensorInfo::offset));
        for (int i = 1; i < byOffset.size(); i++) {
            GgufTensorInfo prev = byOffset.get(i - 1);
            GgufTensorInfo next = byOffset.get(i);
            if (next.offset() < prev.offset() + prev.byteSize()) {
                throw new ModelFormatException(source, "tensors '" + prev.name() + "' (data bytes " + prev.offset()
                        + " to " + (prev.offset() + prev.byteSize()) + ") and '" + next.name() + "' (from "
                        + next.offset() + ") overlap");
            }
        }
    }
}
