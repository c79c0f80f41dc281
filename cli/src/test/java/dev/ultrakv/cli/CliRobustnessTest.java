package dev.ultrakv.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The cases of issue 10's cli.sh: crafted models and extreme options end in success with memory proportional
 * to the tokens used, or in exactly one line {@code ultrakv: ...} on stderr and exit code 1; never a stack trace.
 */
class CliRobustnessTest {
    private static final Path STORIES = Path.of("../models/stories260K.gguf");
    /** GGML type id of F16. */
    private static final int F16 = 1;

    @TempDir
    Path dir;

    /** Exit 1 and one line on stderr, naming each fragment. */
    private static void assertOneLineFailure(CliRun run, String... fragments) {
        assertEquals(1, run.exitCode(), run.err());
        String line = run.err().strip();
        assertEquals(1, line.lines().count(), "one line: " + run.err());
        assertTrue(line.startsWith("ultrakv: "), line);
        for (String fragment : fragments) {
            assertTrue(line.contains(fragment), "should mention '" + fragment + "': " + line);
        }
        assertFalse(line.contains("Exception") || line.contains("\tat "), line);
    }

    private static void assertSuccess(CliRun run) {
        assertEquals(0, run.exitCode(), run.err());
        assertFalse(run.err().contains("Exception") || run.err().contains("\tat "), run.err());
    }

    /** stories260K.gguf with the UINT32 metadata value of {@code key} set to {@code value}. */
    private Path withUint32(String name, String key, long value) throws IOException {
        byte[] bytes = Files.readAllBytes(STORIES);
        byte[] k = key.getBytes(StandardCharsets.US_ASCII);
        int at = CliRun.indexOf(bytes, k) + k.length;
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        assertEquals(4, b.getInt(at), key + " should be a UINT32");
        b.putInt(at + 4, (int) value);
        return write(name, bytes);
    }

    private Path write(String name, byte[] bytes) throws IOException {
        Path file = dir.resolve(name + ".gguf");
        Files.write(file, bytes);
        return file;
    }

    @Test
    void blockCountIntMax_isRefusedInOneLine() throws IOException {
        Path model = withUint32("layers_int_max", "llama.block_count", Integer.MAX_VALUE);
        assertOneLineFailure(CliRun.of("info", "--model", model.toString()), model.toString(),
                "llama.block_count 2147483647");
    }

    @Test
    void blockCount1e8_isRefusedInOneLine() throws IOException {
        Path model = withUint32("layers_1e8", "llama.block_count", 100_000_000);
        assertOneLineFailure(CliRun.of("info", "--model", model.toString()), "llama.block_count 100000000");
    }

    @Test
    void headCountZero_isRefusedNamingTheKey() throws IOException {
        Path model = withUint32("heads_0", "llama.attention.head_count", 0);
        assertOneLineFailure(CliRun.of("info", "--model", model.toString()),
                "llama.attention.head_count must be positive: 0");
    }

    @Test
    void embeddingLengthZero_isRefusedNamingTheKey() throws IOException {
        Path model = withUint32("emb_len_0", "llama.embedding_length", 0);
        assertOneLineFailure(CliRun.of("info", "--model", model.toString()),
                "llama.embedding_length must be positive: 0");
    }

    @Test
    void modelWithContextLengthIntMax_generates() throws IOException {
        Path model = withUint32("ctx_int_max", "llama.context_length", Integer.MAX_VALUE);
        CliRun run = CliRun.of("generate", "--model", model.toString(), "--prompt", "Once", "-n", "4",
                "--temperature", "0");
        assertSuccess(run);
        assertEquals(greedyOnce(), run.out());
    }

    @Test
    void contextLengthOfABillion_generates() {
        CliRun run = CliRun.of("generate", "--prompt", "Once", "-n", "4", "--context-length", "1000000000",
                "--temperature", "0");
        assertSuccess(run);
        assertEquals(greedyOnce(), run.out());
    }

    @Test
    void maxTokensIntMaxWithAContextOfABillion_generatesUntilTheStoryEnds() {
        CliRun run = CliRun.of("generate", "--prompt", "Once", "-n", "2147483647", "--context-length",
                "1000000000", "--seed", "3");
        assertSuccess(run);
        assertTrue(run.out().startsWith("Once"), run.out());
    }

    @Test
    void temperatureSoSmallItOverflows_samplesGreedily() {
        CliRun run = CliRun.of("generate", "--prompt", "Once", "-n", "8", "--temperature", "1e-38", "--seed", "1");
        assertSuccess(run);
        assertEquals(CliRun.of("generate", "--prompt", "Once", "-n", "8", "--temperature", "0").out(), run.out());
    }

    @Test
    void weightsThatComputeNaN_failInOneLineNamingModelLayerAndPosition() throws IOException {
        byte[] bytes = Files.readAllBytes(STORIES);
        // blk.2.attn_v.weight read as F16 instead of F32 (a one-bit flip of its type): its halves hold NaN.
        byte[] name = "blk.2.attn_v.weight".getBytes(StandardCharsets.US_ASCII);
        int at = CliRun.indexOf(bytes, name) + name.length;
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(at + 4 + 8 * b.getInt(at), F16);
        Path model = write("nan_weights", bytes);
        for (String temperature : new String[] {"0", "0.8"}) {
            CliRun run = CliRun.of("generate", "--model", model.toString(), "--prompt", "Once upon a time", "-n",
                    "8", "--temperature", temperature, "--seed", "1");
            // The paged cache refuses the NaN values at the first KV write, before any logit is sampled.
            assertOneLineFailure(run, "model nan_weights: cannot store the value of layer 2, position 0",
                    "cannot store NaN");
        }
    }

    @Test
    void synthOntoADirectory_failsInOneLineAndLeavesNoTemporaryFile() throws IOException {
        Path target = Files.createDirectory(dir.resolve("out.gguf"));
        assertOneLineFailure(CliRun.of("synth", "--shape", "test-tiny", "--out", target.toString()),
                "is a directory");
        try (Stream<Path> files = Files.list(dir)) {
            assertEquals(1, files.count(), "nothing but the directory");
        }
    }

    @Test
    void outOfMemory_isOneLineSayingWhatToChange() {
        String line = UltraKvCli.errorLine(new OutOfMemoryError("Java heap space"));
        assertEquals(1, line.lines().count());
        assertTrue(line.startsWith("ultrakv: out of memory (Java heap space)"), line);
        assertTrue(line.contains("--context-length") && line.contains("-Xmx"), line);
    }

    @Test
    void bug_isOneLineSayingWhereItWasThrown() {
        String line = UltraKvCli.errorLine(new IllegalStateException("broken invariant"));
        assertEquals(1, line.lines().count());
        assertTrue(line.startsWith("ultrakv: internal error (please report): "), line);
        assertTrue(line.contains("broken invariant") && line.contains(" at dev.ultrakv.cli."), line);
    }

    private static String greedyOnce() {
        CliRun run = CliRun.of("generate", "--prompt", "Once", "-n", "4", "--temperature", "0");
        assertSuccess(run);
        return run.out();
    }
}
