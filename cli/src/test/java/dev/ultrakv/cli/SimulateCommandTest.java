package dev.ultrakv.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code ultrakv simulate}: a trace through the four policies, its JSON rows and chart, and refused input. */
class SimulateCommandTest {

    @TempDir
    Path dir;

    private Path trace(String text) throws IOException {
        Path file = dir.resolve("trace.jsonl");
        Files.writeString(file, text, StandardCharsets.UTF_8);
        return file;
    }

    @Test
    void aTraceReplaysThroughEveryPolicyWithJsonRowsAndAChart() throws IOException {
        var text = new StringBuilder();
        for (int i = 0; i < 60; i++) {
            int conversation = i % 6;
            text.append("{\"timestamp\": ").append(i).append(", \"input_length\": ").append(512 * (2 + i / 6))
                    .append(", \"output_length\": 8, \"hash_ids\": [");
            for (int b = 0; b < 2 + i / 6; b++) {
                text.append(b == 0 ? "" : ", ").append(conversation * 1000 + b);
            }
            text.append("]}\n");
        }
        Path json = dir.resolve("rows.json");
        Path chart = dir.resolve("chart.png");
        CliRun run = CliRun.of("simulate", "--trace", trace(text.toString()).toString(), "--capacities", "10%,50",
                "--json", json.toString(), "--chart", chart.toString());
        assertEquals(0, run.exitCode(), run.err());
        for (String policy : new String[] {"LRU", "LFU", "ADAPTIVE", "OPTIMAL"}) {
            assertTrue(run.out().contains(policy), run.out());
        }
        String rows = Files.readString(json);
        assertEquals(8, rows.lines().filter(l -> l.contains("\"policy\"")).count(), rows);
        for (String field : new String[] {"\"policy\": \"optimal\"", "\"capacityBlocks\": 50", "\"blockHitRate\": 0.",
                "\"tokenHitRate\": 0.", "\"fullHitRate\": ", "\"evictions\": ", "\"gapClosed\": 1.000000"}) {
            assertTrue(rows.contains(field), field + " in " + rows);
        }
        byte[] png = Files.readAllBytes(chart);
        assertTrue(png.length > 1000 && png[1] == 'P' && png[2] == 'N' && png[3] == 'G');
        assertTrue(run.err().contains("replayed 60 requests through 4 policies at 2 sizes"), run.err());
    }

    @Test
    void builtInWorkloadsRunWithoutATrace() {
        CliRun run = CliRun.of("simulate", "--workloads", "repeats(0.5),agent-loops", "--requests", "200",
                "--policies", "lru,optimal", "--capacities", "20%", "--csv");
        assertEquals(0, run.exitCode(), run.err());
        assertEquals(5, run.out().lines().count(), run.out());
        assertTrue(run.out().lines().anyMatch(l -> l.startsWith("agent-loops,OPTIMAL,")), run.out());
    }

    /** Issue 14's tiers in the simulator: each memory size alone and with a disk tier behind it, in one run. */
    @Test
    void aDiskCapacityAddsRowsWithTheDiskTierBehindMemory() {
        CliRun run = CliRun.of("simulate", "--workloads", "multi-turn-chat", "--requests", "300", "--policies",
                "lru", "--capacities", "2%,10%", "--disk-capacity", "100%", "--csv");
        assertEquals(0, run.exitCode(), run.err());
        var rows = run.out().lines().skip(1).map(l -> l.split(",")).toList();
        assertEquals(4, rows.size(), run.out());
        for (int i = 0; i < rows.size(); i += 2) {
            String[] alone = rows.get(i);
            String[] withDisk = rows.get(i + 1);
            assertEquals("0", alone[11], "memory alone first");
            assertTrue(Integer.parseInt(withDisk[11]) > 0, "then with the disk");
            assertTrue(Double.parseDouble(withDisk[7]) > Double.parseDouble(alone[7]),
                    "the disk tier raises the token hit rate: " + run.out());
        }
        assertTrue(CliRun.of("simulate", "--workloads", "multi-turn-chat", "--disk-capacity", "0").err()
                .contains("capacity '0'"));
    }

    @Test
    void aMalformedTraceLineIsRefusedWithItsNumber() throws IOException {
        CliRun run = CliRun.of("simulate", "--trace",
                trace("{\"hash_ids\": [1]}\n{\"hash_ids\": [1, \"two\"]}\n").toString());
        assertEquals(1, run.exitCode());
        assertEquals("ultrakv: mooncake:trace.jsonl line 2: hash id 2 is not a number at column 18",
                run.err().strip());
    }

    @Test
    void badOptionsAreNamed() throws IOException {
        Path ok = trace("{\"hash_ids\": [1]}\n");
        assertTrue(CliRun.of("simulate", "--trace", ok.toString(), "--capacities", "0%").err()
                .contains("capacity '0%'"));
        assertTrue(CliRun.of("simulate", "--trace", ok.toString(), "--policies", "fifo").err()
                .contains("unknown eviction policy 'fifo'"));
        assertTrue(CliRun.of("simulate", "--trace", ok.toString(), "--format", "csv").err()
                .contains("unknown --format 'csv'"));
        assertTrue(CliRun.of("simulate", "--trace", dir.resolve("none.jsonl").toString()).err()
                .contains("no such file"));
        assertTrue(CliRun.of("simulate", "--workloads", "nope").err().contains("unknown workload 'nope'"));
    }
}
