package dev.ultrakv.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.ultrakv.bench.suite.ResultsJson;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BenchSuiteCommandTest {
    /** Charts a full run draws; each must be a real picture, not an empty frame. */
    private static final List<String> CHARTS = List.of("configurations.png", "throughput-vs-concurrency.png",
            "latency-vs-concurrency.png", "hit-rate-by-strategy.png", "simulated-token-hit-rate.png",
            "latency-histogram.png");
    private static final int MIN_CHART_BYTES = 10_000;

    @Test
    void benchAllQuickWritesACompleteResultsDirectoryAndCompareReadsIt(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("run");
        CliRun run = CliRun.of("bench", "all", "--quick", "--out", out.toString());
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().contains("hit rate, measured vs expected"), run.out());
        assertTrue(run.err().contains("100%  latency"), "progress on stderr: " + run.err());

        JsonNode results = new ObjectMapper().readTree(out.resolve("results.json").toFile());
        try (InputStream schemaText = ResultsJson.class.getResourceAsStream(ResultsJson.SCHEMA_RESOURCE)) {
            Schema schema = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
                    .getSchema(schemaText, InputFormat.JSON);
            List<Error> errors = schema.validate(results);
            assertTrue(errors.isEmpty(), errors.toString());
        }
        JsonNode benchmarks = results.get("benchmarks");
        for (String name : List.of("latency", "cache-latency", "throughput", "batch", "memory", "gpu-memory",
                "hit-rate", "strategies", "configurations")) {
            assertTrue(benchmarks.has(name), "missing " + name);
        }
        assertTrue(results.get("quick").asBoolean());
        assertEquals(100, benchmarks.at("/latency/latency/count").asInt());
        assertEquals(5, benchmarks.at("/throughput/levels").size());
        assertTrue(benchmarks.at("/throughput/levels/0/requestsPerSecond").asDouble() > 0);
        assertEquals(benchmarks.at("/cache-latency/iterations").asInt(),
                benchmarks.at("/cache-latency/hitPassHits").asInt(), "second pass: all hits");
        assertFalse(benchmarks.at("/gpu-memory/available").asBoolean());
        assertTrue(benchmarks.at("/gpu-memory/reason").asText().startsWith("not available"));
        assertEquals(benchmarks.at("/hit-rate/expectedHitRate").asDouble(),
                benchmarks.at("/hit-rate/hitRate").asDouble(), 0.005, "within half a point");
        assertEquals(3 * 5, benchmarks.at("/strategies/rows").size());
        JsonNode configurations = benchmarks.at("/configurations/rows");
        assertEquals(4, configurations.size());
        for (JsonNode row : configurations) {
            assertTrue(row.get("status").asText().equals("ok") || !row.get("error").asText().isEmpty(),
                    "a failed configuration says why: " + row);
        }
        assertEquals("ok", configurations.get(0).get("status").asText(), "Baseline runs");

        List<String> csv = Files.readAllLines(out.resolve("results.csv"));
        assertEquals(1 + 4, csv.size(), "a header and one row per configuration");
        assertTrue(csv.get(0).startsWith("configuration,status,latency_count,latency_mean"));
        assertTrue(csv.get(1).startsWith("Baseline,ok,"));

        for (String chart : CHARTS) {
            Path png = out.resolve(chart);
            assertTrue(Files.size(png) > MIN_CHART_BYTES, chart + " is " + Files.size(png) + " bytes");
            BufferedImage image = ImageIO.read(png.toFile());
            assertNotNull(image, chart + " is not a PNG");
            assertTrue(image.getWidth() >= 400 && image.getHeight() >= 300, chart);
        }
        String html = Files.readString(out.resolve("report.html"));
        assertTrue(html.contains("<h2>Summary</h2>") && html.contains("data:image/png;base64,"));
        assertFalse(html.contains("src=\"http"), "self-contained");

        CliRun compare = CliRun.of("bench", "compare", out.toString(), out.toString());
        assertEquals(0, compare.exitCode(), compare.err());
        assertTrue(compare.out().contains("B / A"), compare.out());
    }

    @Test
    void compareNamesAMissingResultsDirectory(@TempDir Path dir) {
        CliRun run = CliRun.of("bench", "compare", dir.resolve("a").toString(), dir.resolve("b").toString());
        assertEquals(1, run.exitCode());
        assertTrue(run.err().contains("cannot read the results"), run.err());
    }
}
