package dev.ultrakv.cli;

import dev.ultrakv.model.gguf.GgufFile;
import dev.ultrakv.model.gguf.GgufTensorInfo;
import dev.ultrakv.tensor.GgmlType;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code ultrakv quantize} end to end on a synthetic model: what it writes and what it refuses, each refusal one
 * line naming the problem. (The engine's GgufQuantizerTest checks the bytes against llama.cpp's files.)
 */
class QuantizeCommandTest {

    @TempDir
    Path dir;
    Path model;

    @BeforeEach
    void writeModel() {
        model = dir.resolve("f32.gguf");
        CliRun synth = CliRun.of("synth", "--shape", "test-small", "--dtype", "f32", "--out", model.toString());
        assertEquals(0, synth.exitCode(), synth.err());
    }

    private static void assertRefused(CliRun run, String... parts) {
        assertEquals(1, run.exitCode(), run.err());
        String line = run.err().strip();
        assertEquals(1, line.lines().count(), line);
        for (String part : parts) {
            assertTrue(line.contains(part), "'" + part + "' missing from: " + line);
        }
    }

    @Test
    void q8_0_convertsEveryMatrix_keepsNorms_andSetsTheFileType() throws IOException {
        Path out = dir.resolve("q8.gguf");
        CliRun run = CliRun.of("quantize", model.toString(), out.toString(), "q8_0");
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.err().contains("wrote " + out + " (Q8_0, file type 7)"), run.err());
        try (GgufFile in = GgufFile.read(model); GgufFile q = GgufFile.read(out)) {
            assertEquals(7, q.getInt("general.file_type"));
            assertEquals(2, q.getInt("general.quantization_version"));
            assertEquals(in.tensors().size(), q.tensors().size());
            for (GgufTensorInfo t : q.tensors()) {
                GgmlType expected = t.shape().length == 1 ? GgmlType.F32 : GgmlType.Q8_0;
                assertEquals(expected, t.type(), t.name());
            }
        }
        CliRun generate = CliRun.of("generate", "--model", out.toString(), "--prompt", "Once", "-n", "4",
                "--temperature", "0");
        assertEquals(0, generate.exitCode(), generate.err());
    }

    @Test
    void kQuantMix_fallsBackWhereRowsAreNoSuperBlocks() throws IOException {
        // test-small has rows of 128: Q4_K falls back to Q5_0, the output's Q6_K to Q8_0, as in llama.cpp
        Path out = dir.resolve("q4km.gguf");
        CliRun run = CliRun.of("quantize", model.toString(), out.toString(), "Q4_K");
        assertEquals(0, run.exitCode(), run.err());
        try (GgufFile q = GgufFile.read(out)) {
            assertEquals(15, q.getInt("general.file_type"));
            assertEquals(GgmlType.Q5_0, q.tensor("blk.1.attn_q.weight").type());
            assertEquals(GgmlType.Q8_0, q.tensor("output.weight").type());
        }
        // Q3_K's fallback is IQ4_NL, which UltraKV does not write: refused before anything is written
        assertRefused(CliRun.of("quantize", model.toString(), dir.resolve("q3.gguf").toString(), "Q3_K_S"),
                "tensor 'token_embd.weight' has rows of 128 elements", "IQ4_NL");
        assertFalse(Files.exists(dir.resolve("q3.gguf")));
    }

    @Test
    void unknownType_isRefused_listingTheKnown() {
        assertRefused(CliRun.of("quantize", model.toString(), dir.resolve("x.gguf").toString(), "Q7_K"),
                "unknown quantization type 'Q7_K'", "Q4_K_M", "Q8_0");
        assertFalse(Files.exists(dir.resolve("x.gguf")));
    }

    @Test
    void inputNotGguf_isRefused() throws IOException {
        Path text = Files.writeString(dir.resolve("readme.txt"), "not a model at all");
        assertRefused(CliRun.of("quantize", text.toString(), dir.resolve("x.gguf").toString(), "Q8_0"),
                "not a GGUF file");
    }

    @Test
    void quantizedInput_needsAllowRequantize() throws IOException {
        Path q8 = dir.resolve("q8.gguf");
        assertEquals(0, CliRun.of("quantize", model.toString(), q8.toString(), "Q8_0").exitCode());
        Path q4 = dir.resolve("q4.gguf");
        assertRefused(CliRun.of("quantize", q8.toString(), q4.toString(), "Q4_0"),
                "already quantized", "--allow-requantize");
        assertFalse(Files.exists(q4));
        CliRun allowed = CliRun.of("quantize", "--allow-requantize", q8.toString(), q4.toString(), "Q4_0");
        assertEquals(0, allowed.exitCode(), allowed.err());
        try (GgufFile q = GgufFile.read(q4)) {
            assertEquals(GgmlType.Q4_0, q.tensor("blk.0.ffn_up.weight").type());
        }
    }

    @Test
    void outputIsInput_isRefused_andTheInputIsUntouched() throws IOException {
        byte[] before = Files.readAllBytes(model);
        assertRefused(CliRun.of("quantize", model.toString(), model.toString(), "Q8_0"), "is the input file");
        assertArrayEquals(before, Files.readAllBytes(model));
    }

    @Test
    void unwritableOutput_isRefused() {
        assertRefused(CliRun.of("quantize", model.toString(), dir.resolve("none/x.gguf").toString(), "Q8_0"),
                "cannot be written", "does not exist");
        assertRefused(CliRun.of("quantize", model.toString(), dir.toString(), "Q8_0"), "is a directory");
    }

    @Test
    void help_listsTheTypesAndRules() {
        CliRun help = CliRun.of("quantize", "--help");
        assertEquals(0, help.exitCode());
        for (String s : new String[] {"Q4_K_M", "Q3_K_L", "--allow-requantize", "use_more_bits", "ffn_down"}) {
            assertTrue(help.out().contains(s), s + " missing from help");
        }
    }
}
