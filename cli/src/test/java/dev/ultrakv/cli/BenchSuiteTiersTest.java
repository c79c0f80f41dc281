package dev.ultrakv.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.ultrakv.bench.suite.ResultsJson;
import dev.ultrakv.kvcache.tier.DiskKvTier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The benchmark suite with {@code --kv-disk}: every engine gets the tier, and the reports show what it did. */
class BenchSuiteTiersTest {
    private static final String DISK_BYTES = Long.toString(64L << 20);

    @Test
    void strategiesWithADiskTierReportEachEnginesTierFiguresInTheJsonAndTheHtml(@TempDir Path dir)
            throws IOException {
        Path out = dir.resolve("run");
        Path kv = dir.resolve("kv");
        CliRun run = CliRun.of("bench", "strategies", "--quick", "--strategy-requests", "24", "--workloads",
                "shared-system-prompts", "--warmup", "3", "--kv-disk", kv.toString(), "--kv-disk-bytes", DISK_BYTES,
                "--out", out.toString());
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.err().contains("KV tiers below memory"), run.err());

        JsonNode results = new ObjectMapper().readTree(out.resolve("results.json").toFile());
        assertSchemaValid(results);
        JsonNode described = results.at("/config/tiers");
        assertEquals(1, described.size());
        assertTrue(described.get(0).asText().startsWith("disk " + kv.toAbsolutePath()), described.toString());

        JsonNode tiers = results.get("tiers");
        assertEquals(List.of("warm-up", "strategies"), fieldNames(tiers));
        assertEquals(1, tiers.get("warm-up").size());
        JsonNode engines = tiers.get("strategies");
        assertEquals(List.of("shared-system-prompts / LRU", "shared-system-prompts / LFU",
                "shared-system-prompts / ADAPTIVE"), engines.findValuesAsText("engine"));
        long written = 0;
        for (JsonNode engine : engines) {
            JsonNode disk = engine.at("/tiers/0");
            assertEquals("disk", disk.get("tier").asText());
            assertEquals(0, disk.get("errors").asLong() + disk.get("corrupt").asLong(), engine.toString());
            written += disk.get("blocksWritten").asLong();
        }
        assertTrue(written > 0, "the engines wrote blocks to disk: " + engines);
        JsonNode later = engines.get(1);
        assertTrue(later.at("/tiers/0/hits").asLong() > 0 && later.at("/tiers/0/bytesRead").asLong() > 0
                && later.get("promotedBlocks").asLong() > 0, "the second engine is served from the disk the first"
                + " wrote: " + later);

        String html = Files.readString(out.resolve("report.html"));
        assertTrue(html.contains("<h2>KV tiers</h2>"), "a KV tiers section");
        assertTrue(html.contains("shared-system-prompts / LFU") && html.contains("promoted blocks"));
        assertTrue(html.contains("KV blocks promoted from the tiers"), "a summary card");
        assertTrue(html.contains("<td class=\"text\">KV tiers</td>"), "the configuration names the tiers");
        DiskKvTier.open(kv, 64L << 20).close(); // every engine released the directory
    }

    @Test
    void withoutTiersTheResultsHaveNoTierFigures(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("run");
        CliRun run = CliRun.of("bench", "latency", "--quick", "--iterations", "3", "--warmup", "0", "--out",
                out.toString());
        assertEquals(0, run.exitCode(), run.err());
        JsonNode results = new ObjectMapper().readTree(out.resolve("results.json").toFile());
        assertSchemaValid(results);
        assertFalse(results.has("tiers"), "no tiers object");
        assertFalse(results.get("config").has("tiers"), "no tiers in the configuration");
        assertFalse(Files.readString(out.resolve("report.html")).contains("KV tiers"), "no tier section");
    }

    @Test
    void badTierOptionsAreRefusedBeforeAnyBenchmarkRuns(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("file"), "not a directory");
        Path out = dir.resolve("run");
        assertRefused(out, "--kv-disk-bytes needs --kv-disk", "--kv-disk-bytes", DISK_BYTES);
        assertRefused(out, "--kv-disk-bytes must be positive, got 0", "--kv-disk", dir.resolve("kv").toString(),
                "--kv-disk-bytes", "0");
        assertRefused(out, "--kv-disk " + file + " is not a directory", "--kv-disk", file.toString());
        assertRefused(out, "--kv-redis: malformed Redis URI 'http://localhost:6379'", "--kv-redis",
                "http://localhost:6379");
        assertFalse(Files.exists(out), "nothing written");
    }

    private static void assertRefused(Path out, String message, String... tierArgs) {
        List<String> args = new ArrayList<>(List.of("bench", "latency", "--quick", "--iterations", "1", "--warmup",
                "0", "--out", out.toString()));
        args.addAll(List.of(tierArgs));
        CliRun run = CliRun.of(args.toArray(String[]::new));
        assertEquals(1, run.exitCode(), run.err());
        assertTrue(run.err().contains(message), run.err());
        assertFalse(run.err().contains("100%  latency"), "refused before the benchmark ran: " + run.err());
    }

    private static void assertSchemaValid(JsonNode results) throws IOException {
        try (InputStream schemaText = ResultsJson.class.getResourceAsStream(ResultsJson.SCHEMA_RESOURCE)) {
            Schema schema = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
                    .getSchema(schemaText, InputFormat.JSON);
            List<Error> errors = schema.validate(results);
            assertTrue(errors.isEmpty(), errors.toString());
        }
    }

    private static List<String> fieldNames(JsonNode node) {
        List<String> names = new ArrayList<>();
        node.fieldNames().forEachRemaining(names::add);
        return names;
    }
}
