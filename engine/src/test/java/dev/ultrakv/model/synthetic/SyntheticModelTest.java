package dev.ultrakv.model.synthetic;

import dev.ultrakv.model.gguf.GgufFile;
import dev.ultrakv.model.gguf.GgufTensorInfo;
import dev.ultrakv.model.gguf.GgufWriter;
import dev.ultrakv.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SyntheticModelTest {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final long SEED = 42;

    @TempDir
    Path dir;

    /**
     * {@code shape}, or for the K-quants, whose 256-element super-blocks its rows cannot hold, the same model
     * widened to dim 256 and ffn 512.
     */
    static SyntheticShape holding(SyntheticShape shape, GgmlType type) {
        if (SyntheticModel.supports(shape, type)) {
            return shape;
        }
        return new SyntheticShape(shape.name() + "-k", 256, shape.layers(), shape.heads(), shape.kvHeads(), 512,
                shape.vocab(), shape.contextLength());
    }

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void writtenThenRead_hasIdenticalMetadataAndTensorBytes(GgmlType dtype) throws IOException {
        Path p = dir.resolve("tiny.gguf");
        try (GgufFile made = SyntheticModel.create(holding(SyntheticShape.TEST_TINY, dtype), dtype, SEED)) {
            GgufWriter.write(made, p);
            try (GgufFile read = GgufFile.read(p)) {
                assertEquals(made.metadata(), read.metadata());
                assertEquals(List.copyOf(made.metadata().keySet()), List.copyOf(read.metadata().keySet()));
                assertEquals(made.tensors().size(), read.tensors().size());
                for (int i = 0; i < made.tensors().size(); i++) {
                    GgufTensorInfo a = made.tensors().get(i);
                    GgufTensorInfo b = read.tensors().get(i);
                    assertEquals(a.name(), b.name());
                    assertArrayEquals(a.shape(), b.shape(), a.name());
                    assertEquals(a.type(), b.type(), a.name());
                    assertEquals(a.offset(), b.offset(), a.name());
                    assertEquals(-1, made.tensorData(a).mismatch(read.tensorData(b)), a.name());
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void streamingWrite_equalsInMemoryWrite(GgmlType dtype) throws IOException {
        for (SyntheticShape wanted : List.of(SyntheticShape.TEST_TINY, SyntheticShape.TEST_SMALL)) {
            SyntheticShape shape = holding(wanted, dtype);
            Path streamed = dir.resolve("streamed.gguf");
            Path fromMemory = dir.resolve("memory.gguf");
            SyntheticModel.write(shape, dtype, SEED, streamed);
            try (GgufFile made = SyntheticModel.create(shape, dtype, SEED)) {
                GgufWriter.write(made, fromMemory);
            }
            assertEquals(-1, Files.mismatch(streamed, fromMemory), shape + " " + dtype);
        }
    }

    @Test
    void sameSeed_sameBytes_differentSeed_differentMatrices() throws IOException {
        Path a = dir.resolve("a.gguf");
        Path b = dir.resolve("b.gguf");
        Path c = dir.resolve("c.gguf");
        SyntheticModel.write(SyntheticShape.TEST_TINY, GgmlType.Q8_0, 1, a);
        SyntheticModel.write(SyntheticShape.TEST_TINY, GgmlType.Q8_0, 1, b);
        SyntheticModel.write(SyntheticShape.TEST_TINY, GgmlType.Q8_0, 2, c);
        assertEquals(-1, Files.mismatch(a, b));
        try (GgufFile one = GgufFile.read(a); GgufFile two = GgufFile.read(c)) {
            for (GgufTensorInfo t : one.tensors()) {
                long mismatch = one.tensorData(t).mismatch(two.tensorData(t.name()));
                if (t.shape().length == 1) {
                    assertEquals(-1, mismatch, t.name() + ": norms are 1.0 whatever the seed");
                } else {
                    assertNotEquals(-1, mismatch, t.name());
                }
            }
        }
    }

    @Test
    void metadata_isCompleteLlamaMetadata() {
        try (GgufFile f = SyntheticModel.create(SyntheticShape.TEST_TINY, GgmlType.Q8_0, SEED)) {
            assertEquals("llama", f.getString("general.architecture"));
            assertEquals("test-tiny", f.getString("general.name"));
            assertEquals(7, f.getInt("general.file_type"));
            assertEquals(32, f.getInt("general.alignment"));
            assertEquals(128, f.getInt("llama.context_length"));
            assertEquals(64, f.getInt("llama.embedding_length"));
            assertEquals(2, f.getInt("llama.block_count"));
            assertEquals(96, f.getInt("llama.feed_forward_length"));
            assertEquals(4, f.getInt("llama.attention.head_count"));
            assertEquals(2, f.getInt("llama.attention.head_count_kv"));
            assertEquals(16, f.getInt("llama.rope.dimension_count"));
            assertEquals(10000f, f.getFloat("llama.rope.freq_base"));
            assertEquals(1e-5f, f.getFloat("llama.attention.layer_norm_rms_epsilon"));
            assertEquals(384, f.getInt("llama.vocab_size"));
            assertEquals("llama", f.getString("tokenizer.ggml.model"));
            assertEquals(384, f.getStringArray("tokenizer.ggml.tokens").length);
            assertEquals(384, f.getFloatArray("tokenizer.ggml.scores").length);
            assertEquals(384, f.getIntArray("tokenizer.ggml.token_type").length);
            assertEquals(1, f.getInt("tokenizer.ggml.bos_token_id"));
            assertEquals(2, f.getInt("tokenizer.ggml.eos_token_id"));
            assertEquals(0, f.getInt("tokenizer.ggml.unknown_token_id"));
            assertTrue(f.getBoolean("tokenizer.ggml.add_bos_token"));
        }
        assertEquals(0, SyntheticModel.fileType(GgmlType.F32));
        assertEquals(1, SyntheticModel.fileType(GgmlType.F16));
        assertEquals(2, SyntheticModel.fileType(GgmlType.Q4_0));
        assertEquals(32, SyntheticModel.fileType(GgmlType.BF16));
    }

    @Test
    void tensors_haveLlamaCppNamesAndShapes_normsStayF32() {
        SyntheticShape s = SyntheticShape.TEST_TINY;
        List<GgufTensorInfo> tensors = SyntheticModel.tensors(s, GgmlType.Q8_0);
        assertEquals(3 + 9 * s.layers(), tensors.size());
        long elements = 0;
        for (GgufTensorInfo t : tensors) {
            elements += t.elementCount();
            assertEquals(t.shape().length == 1 ? GgmlType.F32 : GgmlType.Q8_0, t.type(), t.name());
            assertEquals(0, t.offset() % 32, t.name());
        }
        assertEquals(s.parameterCount(), elements);
        assertArrayEquals(new long[] {64, 384}, find(tensors, "token_embd.weight").shape());
        assertArrayEquals(new long[] {64, 384}, find(tensors, "output.weight").shape());
        assertArrayEquals(new long[] {64}, find(tensors, "output_norm.weight").shape());
        assertArrayEquals(new long[] {64, 64}, find(tensors, "blk.1.attn_q.weight").shape());
        assertArrayEquals(new long[] {64, 32}, find(tensors, "blk.1.attn_k.weight").shape());
        assertArrayEquals(new long[] {64, 32}, find(tensors, "blk.1.attn_v.weight").shape());
        assertArrayEquals(new long[] {64, 64}, find(tensors, "blk.1.attn_output.weight").shape());
        assertArrayEquals(new long[] {64, 96}, find(tensors, "blk.1.ffn_gate.weight").shape());
        assertArrayEquals(new long[] {96, 64}, find(tensors, "blk.1.ffn_down.weight").shape());
        assertArrayEquals(new long[] {64, 96}, find(tensors, "blk.1.ffn_up.weight").shape());
        assertArrayEquals(new long[] {64}, find(tensors, "blk.1.attn_norm.weight").shape());
        assertArrayEquals(new long[] {64}, find(tensors, "blk.1.ffn_norm.weight").shape());
    }

    private static GgufTensorInfo find(List<GgufTensorInfo> tensors, String name) {
        return tensors.stream().filter(t -> t.name().equals(name)).findFirst().orElseThrow();
    }

    @Test
    void weights_haveTheDocumentedScale() {
        SyntheticShape s = SyntheticShape.TEST_SMALL;
        try (GgufFile f = SyntheticModel.create(s, GgmlType.F32, SEED)) {
            for (GgufTensorInfo t : f.tensors()) {
                float[] w = f.tensorData(t).toArray(F32);
                double sum = 0;
                double sumSq = 0;
                for (float v : w) {
                    assertTrue(Float.isFinite(v), t.name());
                    sum += v;
                    sumSq += (double) v * v;
                }
                double mean = sum / w.length;
                double std = Math.sqrt(sumSq / w.length - mean * mean);
                if (t.shape().length == 1) {
                    for (float v : w) {
                        assertEquals(1.0f, v, t.name());
                    }
                    continue;
                }
                boolean residual = t.name().endsWith("attn_output.weight") || t.name().endsWith("ffn_down.weight");
                double expected = SyntheticModel.INIT_STD / (residual ? Math.sqrt(2.0 * s.layers()) : 1.0);
                assertEquals(expected, std, expected * 0.05, t.name());
                assertEquals(0, mean, expected * 0.05, t.name());
                for (float v : w) {
                    assertTrue(Math.abs(v) <= expected * 3.47, t.name() + ": Irwin-Hall(4) is bounded");
                }
            }
        }
    }

    @Test
    void encodings_comeFromTheSameFloats() {
        SyntheticShape s = SyntheticShape.TEST_TINY;
        try (GgufFile f32 = SyntheticModel.create(s, GgmlType.F32, SEED);
             GgufFile f16 = SyntheticModel.create(s, GgmlType.F16, SEED);
             GgufFile q8 = SyntheticModel.create(s, GgmlType.Q8_0, SEED)) {
            for (GgufTensorInfo t : f32.tensors()) {
                float[] w = f32.tensorData(t).toArray(F32);
                MemorySegment half = f16.tensorData(t.name());
                MemorySegment q = q8.tensorData(t.name());
                if (t.shape().length == 1) {
                    assertEquals(-1, f32.tensorData(t).mismatch(half), t.name());
                    assertEquals(-1, f32.tensorData(t).mismatch(q), t.name());
                    continue;
                }
                for (int i = 0; i < w.length; i++) {
                    assertEquals(Float.floatToFloat16(w[i]), half.get(U16, 2L * i), t.name());
                }
                for (int b = 0; b < w.length / 32; b++) {
                    float d = Float.float16ToFloat(q.get(U16, 34L * b));
                    for (int j = 0; j < 32; j++) {
                        float x = q.get(ValueLayout.JAVA_BYTE, 34L * b + 2 + j) * d;
                        // half a step, plus 127 times the scale's own F16 rounding error (2^-11 relative)
                        assertEquals(w[32 * b + j], x, d * (0.5f + 127f / 2048), t.name());
                    }
                }
            }
        }
    }

    @Test
    void quantizedRows_mustBeWholeBlocks() {
        SyntheticShape odd = new SyntheticShape("odd", 48, 1, 2, 1, 80, 300, 16);
        assertFalse(SyntheticModel.supports(odd, GgmlType.Q8_0));
        var e = assertThrows(IllegalArgumentException.class, () -> SyntheticModel.create(odd, GgmlType.Q8_0, 1));
        assertTrue(e.getMessage().contains("block size 32"), e.getMessage());
        SyntheticModel.create(odd, GgmlType.F16, 1).close();
    }

    @Test
    void tensorSeeds_dependOnSeedAndName() {
        List<Long> seeds = new ArrayList<>();
        for (long seed : new long[] {0, 1}) {
            for (String name : List.of("blk.0.attn_q.weight", "blk.0.attn_k.weight", "blk.1.attn_q.weight")) {
                seeds.add(SyntheticModel.tensorSeed(seed, name));
            }
        }
        assertEquals(seeds.size(), seeds.stream().distinct().count());
    }
}
