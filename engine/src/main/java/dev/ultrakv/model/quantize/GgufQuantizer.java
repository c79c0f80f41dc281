package dev.ultrakv.model.quantize;

import dev.ultrakv.model.gguf.GgufFile;
import dev.ultrakv.model.gguf.GgufTensorInfo;
import dev.ultrakv.model.gguf.GgufValue;
import dev.ultrakv.model.gguf.GgufValueType;
import dev.ultrakv.model.gguf.GgufWriter;
import dev.ultrakv.tensor.FloatTensor;
import dev.ultrakv.tensor.GgmlType;
import dev.ultrakv.tensor.Parallel;
import dev.ultrakv.tensor.TensorEncoder;
import dev.ultrakv.tensor.Tensors;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.channels.WritableByteChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.SequencedMap;
import java.util.function.Consumer;

/**
 * Converts a GGUF model to a {@link QuantizeMix}, as llama.cpp's {@code llama-quantize} does without an
 * importance matrix: the same tensor types ({@link TensorTypeRules}), the same bytes ({@link TensorEncoder}), the
 * same tensor order, metadata copied with {@code general.quantization_version} = 2 and {@code general.file_type}
 * set to the mix's {@code llama_ftype} (both moved to the end, as llama.cpp's {@code gguf_set_val_u32} does), and
 * llama.cpp's split keys dropped.
 *
 * <p>Memory stays bounded: the input is memory-mapped and each tensor is converted and written a chunk of rows
 * at a time ({@value #CHUNK_ELEMENTS} elements, spread over {@link Parallel}'s threads), so a model larger than
 * the heap can be quantized. The output is
 * written to a temporary sibling and moved into place at the end ({@link GgufWriter}).
 */
public final class GgufQuantizer {

    /** Elements converted at a time (a whole row when rows are longer): bounds the heap a tensor takes. */
    static final int CHUNK_ELEMENTS = 1 << 20;
    /** Fewest elements worth encoding on another thread. */
    private static final int PARALLEL_GRAIN = 1 << 14;
    /** Bytes copied at a time for tensors kept as they are (ByteBuffers hold at most 2 GB). */
    private static final int COPY_BYTES = 1 << 26;
    /** The quantization format version llama.cpp writes ({@code GGML_QNT_VERSION}). */
    public static final int QUANTIZATION_VERSION = 2;
    /** llama.cpp's metadata keys of split files, which a single output file must not carry. */
    private static final List<String> SPLIT_KEYS = List.of("split.no", "split.count", "split.tensors.count");

    private GgufQuantizer() {
    }

    /**
     * What happens to one tensor.
     *
     * @param source the tensor in the input
     * @param target the tensor in the output: its type and offset
     */
    public record TensorPlan(GgufTensorInfo source, GgufTensorInfo target) {
        /** Whether the data is converted (else copied unchanged). */
        public boolean converts() {
            return source.type() != target.type();
        }

        /** Whether converting needs a quantized input dequantized first. */
        public boolean requantizes() {
            return converts() && source.type().blockSize() > 1;
        }
    }

    /**
     * The output's tensors: in llama.cpp's order, with the types of {@code mix}, packed at the file's alignment.
     *
     * @throws IllegalArgumentException if a tensor's rows fit no type llama.cpp would use and UltraKV writes
     */
    public static List<TensorPlan> plan(GgufFile in, QuantizeMix mix) {
        TensorTypeRules rules = new TensorTypeRules(mix, ModelFacts.of(in));
        List<GgufTensorInfo> sources = TensorTypeRules.llamaCppOrder(in.tensors());
        List<GgufTensorInfo> targets = new ArrayList<>(sources.size());
        for (GgufTensorInfo s : sources) {
            targets.add(new GgufTensorInfo(s.name(), s.shape(), rules.typeFor(s), 0));
        }
        targets = GgufWriter.layOut(targets, in.alignment());
        List<TensorPlan> plan = new ArrayList<>(sources.size());
        for (int i = 0; i < sources.size(); i++) {
            plan.add(new TensorPlan(sources.get(i), targets.get(i)));
        }
        return List.copyOf(plan);
    }

    /** {@code in}'s metadata as the output carries it. */
    public static SequencedMap<String, GgufValue> metadata(GgufFile in, QuantizeMix mix) {
        SequencedMap<String, GgufValue> metadata = new LinkedHashMap<>(in.metadata());
        SPLIT_KEYS.forEach(metadata::remove);
        metadata.remove("general.quantization_version");
        metadata.put("general.quantization_version", new GgufValue.Int(GgufValueType.UINT32, QUANTIZATION_VERSION));
        metadata.remove("general.file_type");
        metadata.put("general.file_type", new GgufValue.Int(GgufValueType.UINT32, mix.fileType()));
        return metadata;
    }

    /**
     * Writes {@code input} converted to {@code mix} to {@code output}, calling {@code progress} before each tensor.
     *
     * @param allowRequantize whether quantized input tensors may be dequantized and quantized again
     * @return what was done to each tensor, in file order
     * @throws IllegalArgumentException if {@code output} is {@code input}, cannot be a file (a directory, a missing
     *                                  folder), or the input is quantized and {@code allowRequantize} is false
     * @throws dev.ultrakv.model.ModelFormatException if {@code input} is no readable GGUF model
     * @throws IOException if reading or writing fails
     */
    public static List<TensorPlan> quantize(Path input, Path output, QuantizeMix mix, boolean allowRequantize,
                                            Consumer<TensorPlan> progress) throws IOException {
        Objects.requireNonNull(mix, "mix");
        Objects.requireNonNull(progress, "progress");
        checkOutput(input, output);
        try (GgufFile in = GgufFile.read(input)) {
            List<TensorPlan> plan = plan(in, mix);
            if (!allowRequantize) {
                for (TensorPlan p : plan) {
                    if (p.requantizes()) {
                        throw new IllegalArgumentException(input + " is already quantized (tensor '"
                                + p.source().name() + "' is " + p.source().type() + "); quantizing it again to "
                                + p.target().type() + " loses more than quantizing the original: pass "
                                + "--allow-requantize to do it anyway");
                    }
                }
            }
            Map<String, TensorPlan> byName = new HashMap<>();
            plan.forEach(p -> byName.put(p.target().name(), p));
            List<GgufTensorInfo> targets = plan.stream().map(TensorPlan::target).toList();
            GgufWriter.write(output, metadata(in, mix), targets, (t, channel) -> {
                TensorPlan p = byName.get(t.name());
                progress.accept(p);
                if (p.converts()) {
                    convert(in.tensorData(p.source()), p, channel);
                } else {
                    copy(in.tensorData(p.source()), channel);
                }
            });
            return plan;
        }
    }

    private static void checkOutput(Path input, Path output) throws IOException {
        Path in = input.toAbsolutePath().normalize();
        Path out = output.toAbsolutePath().normalize();
        if (in.equals(out) || (Files.exists(output) && Files.exists(input) && Files.isSameFile(input, output))) {
            throw new IllegalArgumentException("the output " + output + " is the input file; write to another path");
        }
        if (Files.isDirectory(output)) {
            throw new IllegalArgumentException("the output " + output
                    + " is a directory; name the .gguf file to write");
        }
        Path folder = out.getParent();
        if (folder != null && !Files.isDirectory(folder)) {
            throw new IllegalArgumentException("the output " + output + " cannot be written: the folder " + folder
                    + " does not exist");
        }
        if (folder != null && !Files.isWritable(folder)) {
            throw new IllegalArgumentException("the output " + output + " cannot be written: the folder " + folder
                    + " is not writable");
        }
    }

    /**
     * Dequantizes a chunk of rows at a time to floats and encodes them in the target type, the rows of a chunk
     * spread over {@link Parallel}'s threads (each block is encoded on its own, so the bytes do not depend on
     * the split).
     */
    private static void convert(MemorySegment source, TensorPlan p, WritableByteChannel out) throws IOException {
        GgmlType from = p.source().type();
        GgmlType to = p.target().type();
        int rowLength = Math.toIntExact(p.source().shape()[0]);
        long rows = p.source().elementCount() / rowLength;
        int rowsPerChunk = Math.max(1, CHUNK_ELEMENTS / rowLength);
        int grain = Math.max(1, PARALLEL_GRAIN / rowLength);
        for (long row = 0; row < rows; row += rowsPerChunk) {
            int chunkRows = (int) Math.min(rowsPerChunk, rows - row);
            int n = chunkRows * rowLength;
            FloatTensor chunk = Tensors.wrap(from, source.asSlice(from.bytesFor(row * rowLength), from.bytesFor(n)), n);
            byte[] encoded = new byte[Math.toIntExact(to.bytesFor(n))];
            MemorySegment encodedSegment = MemorySegment.ofArray(encoded);
            Parallel.forRange(chunkRows, grain, (first, end) -> {
                float[] floats = new float[(end - first) * rowLength];
                chunk.copyTo((long) first * rowLength, floats, 0, floats.length);
                TensorEncoder.encode(to, floats, encodedSegment, to.bytesFor((long) first * rowLength));
            });
            writeFully(out, ByteBuffer.wrap(encoded));
        }
    }

    private static void copy(MemorySegment source, WritableByteChannel out) throws IOException {
        for (long at = 0; at < source.byteSize(); at += COPY_BYTES) {
            writeFully(out, source.asSlice(at, Math.min(COPY_BYTES, source.byteSize() - at)).asByteBuffer());
        }
    }

    private static void writeFully(WritableByteChannel out, ByteBuffer buf) throws IOException {
        while (buf.hasRemaining()) {
            out.write(buf);
        }
    }
}
