package dev.ultrakv.model;

import dev.ultrakv.model.gguf.GgufMutants;
import dev.ultrakv.sampling.NonFiniteLogitsException;
import dev.ultrakv.sampling.Sampler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The crafted files of issue 10 (stories260K.gguf with one field or a few bytes changed), remade with
 * {@link GgufMutants}: each is refused with a message naming the file, the key and the value, or loads and either
 * generates or fails the generation with a message naming the model, the token and the position.
 */
class CraftedGgufFilesTest {
    private static final String PROMPT = "Once upon a time";
    private static final int TOKENS = 8;
    /** GGML type id of F16. */
    private static final int F16 = 1;

    @TempDir
    Path dir;

    private Path write(String name, byte[] gguf) throws IOException {
        Path file = dir.resolve(name + ".gguf");
        Files.write(file, gguf);
        return file;
    }

    private Path withInt(String name, String key, long value) throws IOException {
        return write(name, GgufMutants.withMetadataInt(GgufMutants.stories260K(), key, value));
    }

    private static int[] greedy(LlamaModel model) {
        int[] prompt = model.tokenizer().encode(PROMPT, true);
        return new TextGenerator(model).generate(prompt, TOKENS, Sampler.greedy(model.config().vocabularySize()),
                null).generatedTokens();
    }

    private static void assertRefused(Path file, String... fragments) {
        ModelFormatException e = assertThrows(ModelFormatException.class, () -> GgufModelLoader.load(file));
        assertTrue(e.getMessage().startsWith(file.toString()), e.getMessage());
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), "should mention '" + fragment + "': " + e.getMessage());
        }
    }

    @Test
    void contextLengthIntMax_generatesAsTheOriginalWithoutSizingAnythingByIt() throws IOException {
        int[] expected;
        try (LlamaModel original = GgufModelLoader.load(write("original", GgufMutants.stories260K()))) {
            expected = greedy(original);
        }
        try (LlamaModel model = GgufModelLoader.load(withInt("ctx_int_max", "llama.context_length",
                Integer.MAX_VALUE))) {
            assertEquals(Integer.MAX_VALUE, model.config().contextLength());
            assertArrayEquals(expected, greedy(model));
        }
    }

    @Test
    void embeddingLengthZero_isRefusedNamingTheKey() throws IOException {
        Path file = withInt("emb_len_0", "llama.embedding_length", 0);
        assertRefused(file, "llama.embedding_length must be positive: 0");
    }

    @Test
    void headCountZero_isRefusedNamingTheKey() throws IOException {
        assertRefused(withInt("heads_0", "llama.attention.head_count", 0),
                "llama.attention.head_count must be positive: 0");
    }

    @Test
    void blockCountBeyondTheTensors_isRefusedBeforeAllocating() throws IOException {
        assertRefused(withInt("layers_1e8", "llama.block_count", 100_000_000), "llama.block_count 100000000",
                "tensors");
        assertRefused(withInt("layers_int_max", "llama.block_count", Integer.MAX_VALUE),
                "llama.block_count " + Integer.MAX_VALUE);
    }

    @Test
    void nanOutputNorm_failsTheGenerationNamingModelTokenAndPosition() throws IOException {
        byte[] gguf = GgufMutants.withTensorFloat(GgufMutants.stories260K(), "output_norm.weight", 0, Float.NaN);
        assertNonFiniteLogits(write("nan_output_norm", gguf));
    }

    @Test
    void weightsReadAsAnotherType_failTheGenerationWithTheNanError() throws IOException {
        // A bit flip in the tensor infos made blk.2.attn_v.weight F16: its F32 bytes read as halves hold NaN.
        byte[] gguf = GgufMutants.withTensorType(GgufMutants.stories260K(), "blk.2.attn_v.weight", F16);
        assertNonFiniteLogits(write("nan_weights_bitflip", gguf));
    }

    private static void assertNonFiniteLogits(Path file) {
        try (LlamaModel model = GgufModelLoader.load(file)) {
            int[] prompt = model.tokenizer().encode(PROMPT, true);
            for (float temperature : new float[] {0f, 0.8f}) {
                Sampler sampler = new Sampler(model.config().vocabularySize(), temperature, 0.9f, 0, 1);
                NonFiniteLogitsException e = assertThrows(NonFiniteLogitsException.class,
                        () -> new TextGenerator(model).generate(prompt, TOKENS, sampler, null));
                assertTrue(Float.isNaN(e.value()), e.getMessage());
                assertEquals("model " + model.name() + " produced a non-finite logit (NaN) for token "
                        + e.tokenId() + " at position " + (prompt.length - 1), e.getMessage());
            }
        }
    }
}
