package dev.ultrakv.model.gguf;

import dev.ultrakv.model.ModelFormatException;
import dev.ultrakv.tensor.GgmlType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Reads stories260K.gguf, written by llama.cpp, and writes it back. */
class GgufFileTest {

    /** Relative to the engine module, surefire's working directory. */
    static final Path STORIES = Path.of("../models/stories260K.gguf");

    private static GgufFile stories;

    @BeforeAll
    static void open() throws IOException {
        stories = GgufFile.read(STORIES);
    }

    @AfterAll
    static void close() {
        stories.close();
    }

    @Test
    void stories_headerAndHyperparameters() {
        assertEquals(3, stories.version());
        assertEquals(32, stories.alignment());
        assertEquals(19, stories.metadata().size());
        assertEquals("llama", stories.getString("general.architecture"));
        assertEquals("llama", stories.getString("tokenizer.ggml.model"));
        assertEquals(64, stories.getInt("llama.embedding_length"));
        assertEquals(5, stories.getInt("llama.block_count"));
        assertEquals(8, stories.getInt("llama.attention.head_count"));
        assertEquals(4, stories.getInt("llama.attention.head_count_kv"));
        assertEquals(172, stories.getInt("llama.feed_forward_length"));
        assertEquals(128, stories.getInt("llama.context_length"));
        assertEquals(8, stories.getInt("llama.rope.dimension_count"));
        assertEquals(1e-5f, stories.getFloat("llama.attention.layer_norm_rms_epsilon"));
        assertEquals(10000f, stories.getFloatOrDefault("llama.rope.freq_base", 10000f));
        assertEquals(512, stories.getStringArray("tokenizer.ggml.tokens").length);
        assertEquals(0, stories.getInt("tokenizer.ggml.unknown_token_id"));
        assertEquals(1, stories.getInt("tokenizer.ggml.bos_token_id"));
        assertEquals(2, stories.getInt("tokenizer.ggml.eos_token_id"));
        // UINT32 0xFFFFFFFF: a long, not an int
        assertEquals(0xFFFF_FFFFL, stories.getLong("tokenizer.ggml.padding_token_id"));
        var e = assertThrows(ModelFormatException.class, () -> stories.getInt("tokenizer.ggml.padding_token_id"));
        assertTrue(e.getMessage().contains("does not fit in an int"), e.getMessage());
    }

    @Test
    void stories_tokenizerArrays() {
        String[] tokens = stories.getStringArray("tokenizer.ggml.tokens");
        assertEquals(List.of("<unk>", "<s>", "</s>", "<0x00>"), List.of(tokens).subList(0, 4));
        int[] types = stories.getIntArray("tokenizer.ggml.token_type");
        assertArrayEquals(new int[] {2, 3, 3, 6}, java.util.Arrays.copyOf(types, 4));
        assertEquals(6, types[258]);
        assertEquals(512, stories.getFloatArray("tokenizer.ggml.scores").length);
        assertEquals(GgufValueType.UINT32, stories.get("tokenizer.ggml.bos_token_id").type());
    }

    @Test
    void stories_tensors() {
        List<GgufTensorInfo> tensors = stories.tensors();
        assertEquals(3 + 5 * 9, tensors.size());
        assertEquals("token_embd.weight", tensors.getFirst().name());
        for (GgufTensorInfo t : tensors) {
            assertEquals(GgmlType.F32, t.type(), t.name());
        }
        assertShape(new long[] {64, 512}, "token_embd.weight");
        assertShape(new long[] {64}, "output_norm.weight");
        assertShape(new long[] {64, 512}, "output.weight");
        for (int i = 0; i < 5; i++) {
            assertShape(new long[] {64}, "blk." + i + ".attn_norm.weight");
            assertShape(new long[] {64, 64}, "blk." + i + ".attn_q.weight");
            assertShape(new long[] {64, 32}, "blk." + i + ".attn_k.weight");
            assertShape(new long[] {64, 32}, "blk." + i + ".attn_v.weight");
            assertShape(new long[] {64, 64}, "blk." + i + ".attn_output.weight");
            assertShape(new long[] {64}, "blk." + i + ".ffn_norm.weight");
            assertShape(new long[] {64, 172}, "blk." + i + ".ffn_gate.weight");
            assertShape(new long[] {172, 64}, "blk." + i + ".ffn_down.weight");
            assertShape(new long[] {64, 172}, "blk." + i + ".ffn_up.weight");
        }
        assertEquals(14176, stories.dataOffset());
        // The norm weights of a trained model are not all zero; the data really is where the info says.
        var norm = stories.tensorData("output_norm.weight");
        assertEquals(256, norm.byteSize());
        boolean nonZero = false;
        for (int i = 0; i < 64; i++) {
            nonZero |= norm.getAtIndex(ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN), i) != 0;
        }
        assertTrue(nonZero);
        assertFalse(stories.findTensor("no.such.tensor").isPresent());
        var e = assertThrows(ModelFormatException.class, () -> stories.tensor("no.such.tensor"));
        assertTrue(e.getMessage().startsWith(STORIES + ": missing tensor 'no.such.tensor'"), e.getMessage());
    }

    private static void assertShape(long[] expected, String name) {
        assertArrayEquals(expected, stories.tensor(name).shape(), name);
    }

    @Test
    void getters_nameTheKeyAndFileOnMissingOrWrongType() {
        var missing = assertThrows(ModelFormatException.class, () -> stories.getInt("llama.vocab_size"));
        assertEquals(STORIES + ": missing metadata key 'llama.vocab_size'", missing.getMessage());
        assertEquals(512, stories.getIntOrDefault("llama.vocab_size", 512));
        var wrong = assertThrows(ModelFormatException.class, () -> stories.getString("llama.block_count"));
        assertEquals(STORIES + ": metadata key 'llama.block_count' has type UINT32, expected a string",
                wrong.getMessage());
        var wrongArray = assertThrows(ModelFormatException.class,
                () -> stories.getIntArray("tokenizer.ggml.tokens"));
        assertTrue(wrongArray.getMessage().endsWith("has type ARRAY of STRING, expected an array of integers"));
    }

    @Test
    void roundTrip_isByteIdentical(@TempDir Path dir) throws IOException {
        Path copy = dir.resolve("copy.gguf");
        GgufWriter.write(stories, copy);
        assertArrayEquals(Files.readAllBytes(STORIES), Files.readAllBytes(copy));
        try (GgufFile again = GgufFile.read(copy)) {
            assertEquals(stories.metadata(), again.metadata());
        }
    }

    @Test
    void layOut_packsLikeLlamaCpp() {
        List<GgufTensorInfo> packed = GgufWriter.layOut(stories.tensors(), stories.alignment());
        for (int i = 0; i < packed.size(); i++) {
            assertEquals(stories.tensors().get(i).offset(), packed.get(i).offset());
        }
        assertEquals(stories.data().byteSize(), GgufWriter.dataSize(packed, 32));
    }
}
