package dev.ultrakv.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QualityCommandTest {
    private static final String COLUMNS = "| cache | KV bytes/token | vs f32 | bits/value | KLD mean | KLD max | top-1"
            + " | PPL | PPL ref | greedy diverged | first divergence (median) |";

    @Test
    void qualityPrintsTheTablesOnStdout_andJsonToTheFileAsked(@TempDir Path dir) throws IOException {
        Path json = dir.resolve("quality.json");
        CliRun run = CliRun.of("quality", "--codecs", "f32", "--methods", "none", "--lengths", "16,24",
                "--texts", "1", "--greedy-tokens", "4", "--json", json.toString());
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().contains(COLUMNS), run.out());
        assertTrue(run.out().contains("| f32 | 1280.0 | 1.000 | 32.00 | 0 | 0 | 100.00% |"), run.out());
        assertTrue(run.out().contains("| length | cache |"), run.out());
        assertTrue(run.out().contains("| 16 | f32 |") && run.out().contains("| 24 | f32 |"), run.out());
        assertTrue(run.err().contains("quality: 1 caches (0 not run), 1 texts at 16, 24 tokens"), run.err());
        String written = Files.readString(json);
        assertTrue(written.startsWith("{") && written.contains("\"klMean\": 0.0"), written);
        assertTrue(written.contains("\"lengths\": [16, 24]"), written);
    }

    @Test
    void badValuesEndWithOneLineNamingTheOption() {
        CliRun codec = CliRun.of("quality", "--codecs", "f32,int3");
        assertEquals(UltraKvCli.EXIT_USER_ERROR, codec.exitCode());
        assertEquals("ultrakv: --codecs: unknown codec 'int3' (expected f32, f16, int8, int4, int2)\n", codec.err());
        CliRun method = CliRun.of("quality", "--methods", "lru");
        assertTrue(method.err().contains("--methods: unknown method 'lru'"), method.err());
        CliRun ratio = CliRun.of("quality", "--ratios", "0.5,1.5");
        assertTrue(ratio.err().contains("--ratios: 1.5 is outside (0, 1]"), ratio.err());
        CliRun texts = CliRun.of("quality", "--texts", "13");
        assertEquals("ultrakv: --texts must be in 1..12, got 13\n", texts.err());
    }
}
