package dev.ultrakv.model.quantize;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ultrakv.model.ModelFormatException;
import dev.ultrakv.model.gguf.GgufFile;
import dev.ultrakv.model.gguf.GgufTensorInfo;
import dev.ultrakv.model.gguf.GgufValue;
import dev.ultrakv.tensor.GgmlType;
import dev.ultrakv.tensor.Tensors;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link GgufQuantizer} against llama.cpp's {@code llama-quantize}: the kq-d256 model (cut to 16 rows per
 * matrix, see the fixture's README) quantized to each mix is llama.cpp's file of that mix, byte for byte:
 * same tensor order, types, offsets and data, same metadata in the same order.
 */
class GgufQuantizerTest {

    @TempDir
    Path dir;

    static Path fixture(String type) {
        try {
            return Path.of(GgufQuantizerTest.class.getResource("/ggml-quants-r16/kq-d256-l2-s11-r16-" + type
                    + ".gguf").toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K_S", "Q3_K_M",
            "Q3_K_L", "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K"})
    void eachMix_writesLlamaCppsFile_byteForByte(String mix) throws IOException {
        Path out = dir.resolve(mix + ".gguf");
        List<GgufQuantizer.TensorPlan> plan = GgufQuantizer.quantize(fixture("F32"), out, QuantizeMix.parse(mix),
                false, p -> { });
        try (GgufFile ours = GgufFile.read(out); GgufFile theirs = GgufFile.read(fixture(mix))) {
            assertEquals(theirs.tensors(), ours.tensors(), "tensor names, shapes, types and offsets");
            assertEquals(theirs.tensors(), plan.stream().map(GgufQuantizer.TensorPlan::target).toList());
            assertEquals(List.copyOf(theirs.metadata().keySet()), List.copyOf(ours.metadata().keySet()));
            assertEquals(theirs.metadata(), ours.metadata());
        }
        assertArrayEquals(Files.readAllBytes(fixture(mix)), Files.readAllBytes(out));
    }

    @Test
    void metadata_getsLlamaCppsFileTypeAndQuantizationVersion_atTheEnd() throws IOException {
        Path out = dir.resolve("q4km.gguf");
        GgufQuantizer.quantize(fixture("F32"), out, QuantizeMix.Q4_K_M, false, p -> { });
        try (GgufFile file = GgufFile.read(out)) {
            List<String> keys = List.copyOf(file.metadata().keySet());
            assertEquals(List.of("general.quantization_version", "general.file_type"),
                    keys.subList(keys.size() - 2, keys.size()));
            assertEquals(15L, ((GgufValue.Int) file.metadata().get("general.file_type")).value());
            assertEquals(2L, ((GgufValue.Int) file.metadata().get("general.quantization_version")).value());
        }
    }

    @Test
    void normsAndOneDimensionalTensors_areCopiedUnchanged() throws IOException {
        try (GgufFile in = GgufFile.read(fixture("F32"))) {
            for (GgufQuantizer.TensorPlan p : GgufQuantizer.plan(in, QuantizeMix.Q2_K)) {
                boolean norm = p.source().name().endsWith("_norm.weight");
                assertEquals(norm, p.source().shape().length == 1, p.source().name());
                assertEquals(norm, !p.converts(), p.source().name());
                if (norm) {
                    assertEquals(GgmlType.F32, p.target().type());
                }
            }
        }
    }

    @Test
    void f32Target_dequantizesEveryMatrix() throws IOException {
        Path out = dir.resolve("f32.gguf");
        GgufQuantizer.quantize(fixture("Q8_0"), out, QuantizeMix.F32, true, p -> { });
        try (GgufFile source = GgufFile.read(fixture("Q8_0")); GgufFile result = GgufFile.read(out)) {
            for (GgufTensorInfo t : result.tensors()) {
                assertEquals(GgmlType.F32, t.type(), t.name());
                GgufTensorInfo s = source.tensor(t.name());
                float[] expected = new float[Math.toIntExact(s.elementCount())];
                Tensors.wrap(s.type(), source.tensorData(s), expected.length).copyTo(0, expected, 0, expected.length);
                assertArrayEquals(expected, result.tensorData(t).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED), t.name());
            }
        }
    }

    @Test
    void quantizedInput_isRefusedWithoutAllowRequantize() throws IOException {
        Path out = dir.resolve("again.gguf");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GgufQuantizer.quantize(fixture("Q8_0"), out, QuantizeMix.Q4_0, false, p -> { }));
        assertTrue(e.getMessage().contains("is already quantized") && e.getMessage().contains("Q8_0")
                && e.getMessage().contains("--allow-requantize"), e.getMessage());
        assertFalse(Files.exists(out));
        GgufQuantizer.quantize(fixture("Q8_0"), out, QuantizeMix.Q4_0, true, p -> { });
        try (GgufFile file = GgufFile.read(out)) {
            assertEquals(GgmlType.Q4_0, file.tensor("blk.0.attn_q.weight").type());
        }
    }

    @Test
    void sameTypeAsTheInput_isACopy_andNeedsNoAllowRequantize() throws IOException {
        Path out = dir.resolve("same.gguf");
        GgufQuantizer.quantize(fixture("Q6_K"), out, QuantizeMix.Q6_K, false, p -> { });
        try (GgufFile in = GgufFile.read(fixture("Q6_K")); GgufFile copy = GgufFile.read(out)) {
            for (GgufTensorInfo t : in.tensors()) {
                assertEquals(-1, in.tensorData(t).mismatch(copy.tensorData(t.name())), t.name());
            }
        }
    }

    @Test
    void outputIsInput_isRefused() throws IOException {
        Path in = dir.resolve("model.gguf");
        Files.copy(fixture("F32"), in);
        byte[] before = Files.readAllBytes(in);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> GgufQuantizer.quantize(in, dir.resolve(".").resolve("model.gguf"), QuantizeMix.Q8_0, false,
                        p -> { }));
        assertTrue(e.getMessage().contains("is the input file"), e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(in));
    }

    @Test
    void inputNotGguf_isRefused() throws IOException {
        Path text = Files.writeString(dir.resolve("notes.txt"), "hello, this is not a model");
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> GgufQuantizer.quantize(text, dir.resolve("out.gguf"), QuantizeMix.Q8_0, false, p -> { }));
        assertTrue(e.getMessage().contains("not a GGUF file"), e.getMessage());
    }

    @Test
    void unwritableOutput_isRefusedBeforeReading() throws IOException {
        IllegalArgumentException missing = assertThrows(IllegalArgumentException.class,
                () -> GgufQuantizer.quantize(fixture("F32"), dir.resolve("no/such/out.gguf"), QuantizeMix.Q8_0,
                        false, p -> { }));
        assertTrue(missing.getMessage().contains("does not exist"), missing.getMessage());
        IllegalArgumentException folder = assertThrows(IllegalArgumentException.class,
                () -> GgufQuantizer.quantize(fixture("F32"), dir, QuantizeMix.Q8_0, false, p -> { }));
        assertTrue(folder.getMessage().contains("is a directory"), folder.getMessage());
    }

    @Test
    void progress_seesEveryTensorOnce_inFileOrder() throws IOException {
        List<String> seen = new ArrayList<>();
        List<GgufQuantizer.TensorPlan> plan = GgufQuantizer.quantize(fixture("F32"), dir.resolve("p.gguf"),
                QuantizeMix.Q4_K_S, false, p -> seen.add(p.target().name()));
        assertEquals(plan.stream().map(p -> p.target().name()).toList(), seen);
    }
}
