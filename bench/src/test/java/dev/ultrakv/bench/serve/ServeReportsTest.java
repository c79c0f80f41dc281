package dev.ultrakv.bench.serve;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.Schema;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import dev.ultrakv.bench.suite.MachineInfo;
import dev.ultrakv.bench.suite.ResultsComparison;
import dev.ultrakv.bench.suite.ResultsJson;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ServeReportsTest {
    private static final long MS = 1_000_000;

    static Schema schema() throws IOException {
        try (InputStream text = ResultsJson.class.getResourceAsStream(ResultsJson.SCHEMA_RESOURCE)) {
            return SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12).getSchema(text,
                    InputFormat.JSON);
        }
    }

    private static ServeResults results(long chunkGapMs) {
        ServeSettings settings = ServeSettings.builder("http://127.0.0.1:9").stream(true)
                .concurrencyLevels(List.of(1, 4)).requests(2).build();
        List<ServeBenchmark.Level> levels = List.of(1, 4).stream().map(c -> ServeBenchmark.summarize(c, 2, List.of(
                new RequestRecord(0, new long[] {20 * MS, (20 + chunkGapMs) * MS}, (25 + chunkGapMs) * MS, 10, 2, 4,
                        null, "ab"), RequestRecord.failed(0, MS, "503", "draining")), 0, 500 * MS)).toList();
        var result = new ServeBenchmark.Result(settings.endpoint().toString(), "m", true, "random", levels);
        return new ServeResults("2026-12-07T10:00:00Z", 1.5, false, new MachineInfo("abc", "jvm", "os", "cpu", 2,
                1L << 30, 0.5), new ServeResults.ModelInfo("m", settings.url(), null),
                new ServeResults.RunConfig(settings, "OpenAI-compatible server at " + settings.url()),
                Map.of(ServeBenchmark.KEY, result));
    }

    @Test
    void aResultsDirectory_matchesTheSchema_andCompareReadsIt(@TempDir Path dir) throws IOException {
        Path a = dir.resolve("a");
        Path b = dir.resolve("b");
        ServeReports.write(results(10), a);
        ServeReports.write(results(30), b);
        JsonNode json = new ObjectMapper().readTree(a.resolve("results.json").toFile());
        List<Error> errors = schema().validate(json);
        assertTrue(errors.isEmpty(), errors.toString());
        assertEquals("OpenAI-compatible server at http://127.0.0.1:9", json.at("/config/target").asText());
        assertEquals(1, json.at("/benchmarks/serve/levels/0/errors/503").asInt());
        assertFalse(json.toString().contains("apiKey"), "the key is never written");

        var figures = ResultsComparison.compare(a, b);
        var itl = figures.stream().filter(f -> f.path().equals("serve.levels[c=4].itl.p50")).findFirst()
                .orElseThrow(() -> new AssertionError(figures.toString()));
        assertEquals(3.0, itl.ratio(), 1e-9);

        List<String> csv = Files.readAllLines(a.resolve("results.csv"));
        assertEquals(3, csv.size(), "header and a row per level");
        assertEquals(ServeReports.HEADER.size(), csv.get(1).split(",", -1).length);
        assertTrue(csv.get(1).startsWith("1,2,1,1,0,0.5000,2.0000,4.0000,"), csv.get(1));
        assertTrue(csv.get(1).endsWith(",503=1"), csv.get(1));

        for (String png : List.of(ServeCharts.THROUGHPUT, ServeCharts.LATENCY)) {
            assertNotNull(ImageIO.read(a.resolve(png).toFile()), png);
        }
        String html = Files.readString(a.resolve("report.html"));
        assertTrue(html.contains("data:image/png;base64,") && html.contains("draining"));
        assertFalse(html.contains("src=\"http"), "self-contained");
    }

    @Test
    void theSchema_refusesAServeResultWithoutItsFigures() throws IOException {
        ObjectNode json = (ObjectNode) new ObjectMapper().readTree(ServeReports.json(results(10)));
        ((ObjectNode) json.at("/benchmarks/serve/levels/0")).remove("ttft");
        assertFalse(schema().validate(json).isEmpty());
    }
}
