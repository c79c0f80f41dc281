package dev.ultrakv.bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ultrakv.bench.suite.MachineInfo;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.ModelLoader;
import dev.ultrakv.model.synthetic.SyntheticShape;
import dev.ultrakv.tensor.GgmlType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongSupplier;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SpeedBenchmarkTest {
    private static LlamaModel model;

    @BeforeAll
    static void load() {
        model = ModelLoader.loadEmbedded();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** A clock whose every reading is {@code step} nanoseconds after the last, so each timed span is one step. */
    private static LongSupplier steppingClock(long step) {
        AtomicLong now = new AtomicLong();
        return () -> now.addAndGet(step);
    }

    @Test
    void rowsFollowLlamaBenchTestsAndComputeTokensPerSecondFromTheSamples() {
        List<SpeedBenchmark.Row> rows = SpeedBenchmark.run(model, "stories260K", new int[]{16, 0}, new int[]{8}, 3,
                42, steppingClock(500_000_000L));
        assertEquals(List.of("pp16", "tg8"), rows.stream().map(SpeedBenchmark.Row::test).toList());
        SpeedBenchmark.Row pp = rows.get(0);
        assertEquals(16, pp.nPrompt());
        assertEquals(0, pp.nGen());
        assertArrayEquals(new long[]{500_000_000L, 500_000_000L, 500_000_000L}, pp.samplesNs());
        assertEquals(32.0, pp.avgTs(), 1e-9);
        assertEquals(0.0, pp.stddevTs(), 1e-9);
        SpeedBenchmark.Row tg = rows.get(1);
        assertEquals(8, tg.nGen());
        assertEquals(16.0, tg.avgTs(), 1e-9);
        assertEquals(model.config().parameterCount(), tg.modelParams());
        assertTrue(tg.modelType().startsWith("llama ") && tg.modelType().endsWith(" F32"), tg.modelType());
    }

    @Test
    void standardDeviationIsTheSampleOne() {
        SpeedBenchmark.Row row = new SpeedBenchmark.Row("m", "llama 1M F32", 1, 1, 2, "tg10", 0, 10,
                java.time.Instant.EPOCH, new long[]{1_000_000_000L, 500_000_000L});
        // 10 and 20 tokens/s: mean 15, sample sd sqrt(50).
        assertEquals(15.0, row.avgTs(), 1e-9);
        assertEquals(Math.sqrt(50), row.stddevTs(), 1e-9);
        assertEquals(750_000_000L, row.avgNs());
    }

    @Test
    void jsonRowsCarryLlamaBenchFieldNames() throws Exception {
        List<SpeedBenchmark.Row> rows = SpeedBenchmark.run(model, "stories260K", new int[]{8}, new int[]{4}, 1, 7,
                System::nanoTime);
        JsonNode json = new ObjectMapper().readTree(SpeedBenchmark.format(rows, SpeedBenchmark.Format.JSON,
                MachineInfo.current()));
        assertEquals(2, json.size());
        for (String field : List.of("model_filename", "model_type", "model_size", "model_n_params", "n_threads",
                "test", "n_prompt", "n_gen", "avg_ns", "stddev_ns", "avg_ts", "stddev_ts", "samples_ns",
                "samples_ts")) {
            assertTrue(json.get(0).has(field), field);
        }
        assertEquals("pp8", json.get(0).get("test").asText());
        assertEquals(8, json.get(0).get("n_prompt").asInt());
        assertEquals("tg4", json.get(1).get("test").asText());
        assertTrue(json.get(1).get("avg_ts").asDouble() > 0);
        String markdown = SpeedBenchmark.format(rows, SpeedBenchmark.Format.MD, MachineInfo.current());
        assertTrue(markdown.contains(" pp8 |") && markdown.contains(" tg4 |"), markdown);
        String csv = SpeedBenchmark.format(rows, SpeedBenchmark.Format.CSV, MachineInfo.current());
        assertEquals(3, csv.lines().count());
        assertTrue(csv.startsWith("build_commit,cpu_info,backends,model_filename,model_type"), csv);
    }

    @Test
    void testsLongerThanTheContextAreRefusedByName() {
        int context = model.config().contextLength();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> SpeedBenchmark.run(model,
                "m", new int[]{context + 1}, new int[0], 1, 1, System::nanoTime));
        assertTrue(e.getMessage().contains(Integer.toString(context + 1)), e.getMessage());
    }

    @Test
    void sizeLabelsRoundAsModelNamesDo() {
        assertEquals("110M", SpeedBenchmark.sizeLabel(110_400_000L));
        assertEquals("1.2B", SpeedBenchmark.sizeLabel(1_235_000_000L));
        assertEquals("7B", SpeedBenchmark.sizeLabel(6_980_000_000L));
        assertEquals("260K", SpeedBenchmark.sizeLabel(260_000L));
    }

    /** A GGUF file's declared weight mix names the model type, as llama-bench prints it; without one, the main type. */
    @Test
    void modelType_isTheFilesDeclaredMix_elseTheMainWeightType() {
        try (LlamaModel q8 = ModelLoader.synthetic(SyntheticShape.TEST_TINY, GgmlType.Q8_0, 3);
             LlamaModel f32 = ModelLoader.synthetic(SyntheticShape.TEST_TINY, GgmlType.F32, 3)) {
            String size = SpeedBenchmark.sizeLabel(q8.config().parameterCount());
            assertEquals("llama " + size + " Q8_0", SpeedBenchmark.modelType(q8));
            assertEquals("llama " + size + " all F32", SpeedBenchmark.modelType(f32));
        }
        try (LlamaModel mixed = ModelLoader.synthetic(SyntheticShape.TEST_TINY, GgmlType.Q8_0, 3)
                .withFileType("Q4_K - Medium")) {
            assertTrue(SpeedBenchmark.modelType(mixed).endsWith(" Q4_K - Medium"), SpeedBenchmark.modelType(mixed));
        }
        assertTrue(model.fileType().isEmpty(), "llama2.c checkpoints declare no mix");
        assertTrue(SpeedBenchmark.modelType(model).endsWith(" F32"), SpeedBenchmark.modelType(model));
    }
}
