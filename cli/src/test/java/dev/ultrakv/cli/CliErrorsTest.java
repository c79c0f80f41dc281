package dev.ultrakv.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** A user mistake ends with one clear message naming the file or option and the problem, never a stack trace. */
class CliErrorsTest {
    private static final Path MODELS = Path.of("../models");

    @TempDir
    Path dir;

    private static void assertCleanFailure(CliRun run, String... expectedFragments) {
        assertNotEquals(0, run.exitCode(), "should fail: " + run.err());
        for (String fragment : expectedFragments) {
            assertTrue(run.err().contains(fragment), "stderr should mention '" + fragment + "': " + run.err());
        }
        assertFalse(run.err().contains("\tat "), "no stack trace: " + run.err());
        assertFalse(run.err().contains("Exception"), "no exception names: " + run.err());
        assertEquals("", run.out(), "nothing on stdout");
    }

    private Path copyModel(String name) throws IOException {
        Path target = dir.resolve(name);
        Files.copy(MODELS.resolve(name), target);
        return target;
    }

    @Test
    void missingModelFile() {
        Path missing = dir.resolve("nope.bin");
        assertCleanFailure(CliRun.of("generate", "--model", missing.toString()), missing.toString(), "no such file");
    }

    @Test
    void truncatedCheckpoint() throws IOException {
        Path model = dir.resolve("stories260K.bin");
        Files.write(model, Arrays.copyOf(Files.readAllBytes(MODELS.resolve("stories260K.bin")), 100_000));
        Files.copy(MODELS.resolve("tok512.bin"), dir.resolve("tokenizer.bin"));
        assertCleanFailure(CliRun.of("generate", "--model", model.toString()), model.toString(), "truncated");
    }

    @Test
    void checkpointWithoutItsTokenizer() throws IOException {
        Path model = copyModel("stories260K.bin");
        assertCleanFailure(CliRun.of("generate", "--model", model.toString()), "tokenizer");
    }

    @Test
    void tokenizerWhoseVocabularyDoesNotMatchTheModel() throws IOException {
        Path model = copyModel("stories260K.bin");
        Path tokenizer = dir.resolve("tokenizer.bin");
        byte[] bytes = Files.readAllBytes(MODELS.resolve("tok512.bin"));
        Files.write(tokenizer, Arrays.copyOf(bytes, bytes.length - 40));
        assertCleanFailure(CliRun.of("generate", "--model", model.toString(), "--tokenizer", tokenizer.toString()),
                tokenizer.toString());
    }

    @Test
    void wrongGgufMagic() throws IOException {
        Path model = copyModel("stories260K.gguf");
        byte[] bytes = Files.readAllBytes(model);
        bytes[0] = 'X';
        Files.write(model, bytes);
        assertCleanFailure(CliRun.of("info", "--model", model.toString()), model.toString(), "magic");
    }

    @Test
    void unsupportedGgufVersion() throws IOException {
        Path model = copyModel("stories260K.gguf");
        byte[] bytes = Files.readAllBytes(model);
        ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).putInt(4, 9);
        Files.write(model, bytes);
        assertCleanFailure(CliRun.of("info", "--model", model.toString()), model.toString(), "version 9");
    }

    @Test
    void unsupportedTensorType() throws IOException {
        Path model = copyModel("stories260K.gguf");
        byte[] bytes = Files.readAllBytes(model);
        // The first tensor info: name, n_dims (u32), dims (u64 each), then its type (u32). Make it Q5_K (13).
        byte[] name = "token_embd.weight".getBytes(StandardCharsets.US_ASCII);
        int at = CliRun.indexOf(bytes, name);
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        int dims = b.getInt(at + name.length);
        b.putInt(at + name.length + 4 + 8 * dims, 13);
        Files.write(model, bytes);
        assertCleanFailure(CliRun.of("info", "--model", model.toString()), model.toString(), "token_embd.weight");
    }

    @Test
    void unsupportedArchitecture() throws IOException {
        Path model = copyModel("stories260K.gguf");
        byte[] bytes = Files.readAllBytes(model);
        byte[] key = "general.architecture".getBytes(StandardCharsets.US_ASCII);
        int value = CliRun.indexOf(bytes, key) + key.length + 4 + 8;  // value type u32, string length u64
        System.arraycopy("mamba".getBytes(StandardCharsets.US_ASCII), 0, bytes, value, 5);
        Files.write(model, bytes);
        assertCleanFailure(CliRun.of("info", "--model", model.toString()), model.toString(), "architecture",
                "mamba");
    }

    @Test
    void negativeMaxTokens() {
        assertCleanFailure(CliRun.of("generate", "--max-tokens", "-1"), "--max-tokens", "-1");
    }

    @Test
    void temperatureThatIsNotANumber() {
        assertCleanFailure(CliRun.of("generate", "--temperature", "NaN"), "temperature", "NaN");
    }

    @Test
    void topPOutsideItsRange() {
        assertCleanFailure(CliRun.of("generate", "--top-p", "1.5"), "top-p", "1.5");
    }

    @Test
    void unknownOption() {
        CliRun run = CliRun.of("generate", "--bogus");
        assertEquals(2, run.exitCode());
        assertTrue(run.err().contains("--bogus"), run.err());
    }

    @Test
    void promptLongerThanTheContext() {
        assertCleanFailure(CliRun.of("generate", "--prompt", "a b c d e f g h i j k l", "--context-length", "8"),
                "context length");
    }
}
