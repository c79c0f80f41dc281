package dev.ultrakv.cli;

import dev.ultrakv.model.gguf.GgufFile;
import dev.ultrakv.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ultrakv synth --dtype}: every type, llama.cpp's file type numbers, and the message for the others. */
class SynthCommandTest {

    @TempDir
    Path dir;

    @Test
    void everyBlockOf32Type_isWritten_withLlamaCppsFileType() throws IOException {
        int[] fileTypes = {3, 8, 9}; // LLAMA_FTYPE_MOSTLY_Q4_1, Q5_0, Q5_1
        String[] dtypes = {"q4_1", "q5_0", "q5_1"};
        for (int i = 0; i < dtypes.length; i++) {
            Path out = dir.resolve(dtypes[i] + ".gguf");
            CliRun run = CliRun.of("synth", "--shape", "test-tiny", "--dtype", dtypes[i], "--out", out.toString());
            assertEquals(0, run.exitCode(), run.err());
            try (GgufFile f = GgufFile.read(out)) {
                assertEquals(fileTypes[i], f.getInt("general.file_type"));
                assertEquals(GgmlType.valueOf(dtypes[i].toUpperCase(Locale.ROOT)), f.tensor("blk.0.attn_q.weight")
                        .type());
            }
        }
    }

    @Test
    void kQuant_onAShapeWithoutSuperBlocks_isRefused() {
        CliRun run = CliRun.of("synth", "--shape", "test-tiny", "--dtype", "q4_k", "--out",
                dir.resolve("k.gguf").toString());
        assertEquals(1, run.exitCode());
        assertTrue(run.err().contains("--dtype q4_k cannot store shape test-tiny"), run.err());
    }

    @Test
    void unknownDtype_listsEveryType() {
        CliRun run = CliRun.of("synth", "--shape", "test-tiny", "--dtype", "q7", "--out",
                dir.resolve("x.gguf").toString());
        assertEquals(1, run.exitCode());
        for (GgmlType t : GgmlType.values()) {
            assertTrue(run.err().contains(t.name().toLowerCase(Locale.ROOT)), t + " missing from: " + run.err());
        }
    }
}
