package dev.ultrakv.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchSpeedCommandTest {

    @Test
    void jsonRowsOnTheEmbeddedModel() throws Exception {
        CliRun run = CliRun.of("bench", "speed", "-p", "16", "-n", "8", "-r", "2", "-o", "json");
        assertEquals(0, run.exitCode(), run.err());
        JsonNode rows = new ObjectMapper().readTree(run.out());
        assertEquals(2, rows.size());
        assertEquals("pp16", rows.get(0).get("test").asText());
        assertEquals(16, rows.get(0).get("n_prompt").asInt());
        assertEquals("tg8", rows.get(1).get("test").asText());
        assertEquals(8, rows.get(1).get("n_gen").asInt());
        assertEquals(2, rows.get(1).get("samples_ts").size());
        assertTrue(rows.get(1).get("avg_ts").asDouble() > 0);
    }

    @Test
    void markdownIsLlamaBenchsTable() {
        CliRun run = CliRun.of("bench", "speed", "-p", "0", "-n", "4", "-r", "1");
        assertEquals(0, run.exitCode(), run.err());
        String[] lines = run.out().split("\n");
        assertTrue(lines[0].matches("\\| model +\\| +size \\| +params \\| backend +\\| threads \\| +test \\| +t/s \\|"),
                lines[0]);
        assertEquals(3, lines.length, run.out());
        assertTrue(lines[2].contains("| llama 260K F32") && lines[2].contains(" tg4 |"), lines[2]);
    }

    @Test
    void badValuesEndWithOneLineNamingTheOption() {
        CliRun format = CliRun.of("bench", "speed", "-o", "xml");
        assertEquals(1, format.exitCode());
        assertTrue(format.err().strip().startsWith("ultrakv: --output must be md, csv or json"), format.err());
        CliRun threads = CliRun.of("bench", "speed", "-t", "0");
        assertEquals(1, threads.exitCode());
        assertTrue(threads.err().contains("--threads must be in [1, 1024], got 0"), threads.err());
        CliRun tooLong = CliRun.of("bench", "speed", "-p", "100000", "-n", "0");
        assertEquals(1, tooLong.exitCode());
        assertTrue(tooLong.err().contains("100000 tokens does not fit the model's context of 512"), tooLong.err());
        assertEquals(1, CliRun.of("bench", "speed", "-r", "0").exitCode());

    }
}
