package dev.ultrakv.quality;

import dev.ultrakv.kvcache.codec.KvCodecKind;
import dev.ultrakv.kvcache.compress.CompressionMethod;
import dev.ultrakv.kvcache.compress.KvCompression;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Rendering of a hand-made report: the Markdown tables and the JSON object. */
class QualityReportTest {
    private static final KvCandidate INT4 = KvCandidate.of(KvCodecKind.INT4);
    private static final KvCandidate H2O = new KvCandidate(KvCodecKind.INT8,
            new KvCompression(CompressionMethod.H2O, 0.5));

    private static QualityReport report() {
        QualityStats exact = new QualityStats(2, 64, 0, 0, 1, 5.5, 5.5, 0, Double.NaN);
        QualityStats damaged = new QualityStats(2, 64, 1.234e-4, 0.02, 0.96875, 5.61, 5.5, 1, 7);
        List<QualityRow> overall = List.of(new QualityRow(KvCandidate.REFERENCE, 0, exact, 1280, 1, 32),
                new QualityRow(INT4, 0, damaged, 200, 0.15625, 5));
        List<QualityRow> perLength = List.of(new QualityRow(INT4, 128, damaged, 200, 0.15625, 5));
        List<SkippedCandidate> skipped = List.of(new SkippedCandidate(H2O, "not \"yet\""),
                new SkippedCandidate(KvCandidate.of(KvCodecKind.INT2), "not \"yet\""));
        List<RunMeasurement> runs = List.of(new RunMeasurement(INT4, 1, 128, 32, 0.032, 0.02, 31, 32 * Math.log(5.61),
                32 * Math.log(5.5), 16, 7), new RunMeasurement(INT4, 0, 128, 32, 0, 0, 32, 0, 0, 16,
                RunMeasurement.NO_DIVERGENCE));
        return new QualityReport("stories260K", List.of(128), 2, 16, overall, perLength, skipped, runs);
    }

    @Test
    void markdownHasOneTableRowPerCandidateAndPerLength_andGroupsTheSkippedByReason() {
        String markdown = report().toMarkdown();
        String header = "| cache | KV bytes/token | vs f32 | bits/value | KLD mean | KLD max | top-1 | PPL | PPL ref"
                + " | greedy diverged | first divergence (median) |";
        assertTrue(markdown.contains(header), markdown);
        assertTrue(markdown.contains("| length | cache | KV bytes/token |"), markdown);
        assertTrue(markdown.contains("| f32 | 1280.0 | 1.000 | 32.00 | 0 | 0 | 100.00% | 5.500 | 5.500 | 0/2 | none |"),
                markdown);
        assertTrue(markdown.contains("| int4 | 200.0 | 0.156 | 5.00 | 0.000123 | 0.0200 | 96.88% | 5.610 | 5.500 | 1/2"
                + " | 7.0 |"), markdown);
        assertTrue(markdown.contains("| 128 | int4 | 200.0 |"), markdown);
        assertTrue(markdown.contains("- int8 h2o@0.5, int2: not \"yet\""), markdown);
    }

    @Test
    void jsonEscapesStringsAndWritesNaNAsNull() {
        String json = report().toJson();
        assertTrue(json.contains("\"model\": \"stories260K\""), json);
        assertTrue(json.contains("\"medianFirstDivergence\": null"), json);
        assertTrue(json.contains("\"medianFirstDivergence\": 7.0"), json);
        assertTrue(json.contains("\"cache\": \"int8 h2o@0.5\", \"codec\": \"int8\", \"method\": \"h2o\","
                + " \"ratio\": 0.5, \"reason\": \"not \\\"yet\\\"\""), json);
        assertTrue(json.contains("\"length\": 128"), json);
        assertTrue(json.contains("{\"cache\": \"int4\", \"text\": 1, \"length\": 128, \"positions\": 32,"
                + " \"klMean\": 0.001, \"klMax\": 0.02, \"top1Agreement\": 0.96875,"), json);
        assertTrue(json.contains("\"greedyTokens\": 16, \"firstDivergence\": 7}"), json);
        assertTrue(json.contains("\"greedyTokens\": 16, \"firstDivergence\": null}"), json);
        assertEquals("\"a\\\\b\\n\\u0001\"", QualityReport.string("a\\b\n\u0001"));
        assertEquals(json.chars().filter(c -> c == '{').count(), json.chars().filter(c -> c == '}').count());
        assertEquals(json.chars().filter(c -> c == '[').count(), json.chars().filter(c -> c == ']').count());
    }

    @Test
    void candidateLabelsAndTheGrid() {
        assertEquals("int8 h2o@0.5", H2O.label());
        assertEquals("f32", KvCandidate.REFERENCE.label());
        List<KvCodecKind> codecs = List.of(KvCodecKind.INT8, KvCodecKind.INT4);
        List<CompressionMethod> methods = List.of(CompressionMethod.SNAPKV, CompressionMethod.H2O);
        List<Double> ratios = List.of(0.3, 1.0);
        assertEquals(List.of("int8", "int4", "f32 snapkv@0.3", "f32 h2o@0.3"),
                KvCandidate.separate(codecs, methods, ratios).stream().map(KvCandidate::label).toList(),
                "compression alone runs over float32; a ratio of 1 adds nothing");
        assertEquals(List.of("int8", "int4", "int8 snapkv@0.3", "int4 snapkv@0.3", "int8 h2o@0.3", "int4 h2o@0.3"),
                KvCandidate.combined(codecs, methods, ratios).stream().map(KvCandidate::label).toList());
    }
}
