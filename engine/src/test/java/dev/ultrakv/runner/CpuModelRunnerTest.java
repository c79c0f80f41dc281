package dev.ultrakv.runner;

import dev.ultrakv.kvcache.DenseKvStore;
import dev.ultrakv.model.ForwardState;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.ModelLoader;
import dev.ultrakv.scheduler.SchedulerConfig;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class CpuModelRunnerTest {
    private static LlamaModel model;

    @BeforeAll
    static void load() {
        model = ModelLoader.loadEmbedded();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    @Test
    void aBatchOfTwoSequencesGivesEachTheLogitsItHasAlone() {
        int[] first = {1, 403, 407, 256};
        int[] second = {1, 350, 261};
        int vocabulary = model.config().vocabularySize();
        float[] alone1 = alone(first);
        float[] alone2 = alone(second);

        CpuModelRunner runner = new CpuModelRunner(model, 8);
        DenseKvStore store1 = new DenseKvStore(model.config().kvLayout(), 16);
        DenseKvStore store2 = new DenseKvStore(model.config().kvLayout(), 16);
        StepBatch batch = new StepBatch(runner.maxRows());
        for (int i = 0; i < first.length; i++) {
            batch.add(first[i], i, store1);
        }
        batch.wantLogitsOfLastRow();
        for (int i = 0; i < second.length; i++) {
            batch.add(second[i], i, store2);
        }
        batch.wantLogitsOfLastRow();
        float[] logits = runner.run(batch);
        assertArrayEquals(alone1, Arrays.copyOfRange(logits, 0, vocabulary));
        assertArrayEquals(alone2, Arrays.copyOfRange(logits, vocabulary, 2 * vocabulary));
    }

    /** The logits after {@code tokens}, by the model's own prefill. */
    private static float[] alone(int[] tokens) {
        DenseKvStore store = new DenseKvStore(model.config().kvLayout(), 16);
        ForwardState state = model.newState(tokens.length);
        return Arrays.copyOf(model.prefill(state, tokens, 0, tokens.length, 0, store),
                model.config().vocabularySize());
    }

    @Test
    void refusesEmptyAndOversizedBatches() {
        CpuModelRunner runner = new CpuModelRunner(model, 2);
        assertThrows(IllegalArgumentException.class, () -> runner.run(new StepBatch(4)));
        StepBatch big = new StepBatch(4);
        DenseKvStore store = new DenseKvStore(model.config().kvLayout(), 8);
        for (int i = 0; i < 3; i++) {
            big.add(1, i, store);
        }
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> runner.run(big));
        assertTrue(e.getMessage().contains("3 rows"), e.getMessage());
    }

    @Test
    void stepBatchKeepsItsRowsAndLogitRowsAndClears() {
        StepBatch batch = new StepBatch(3);
        DenseKvStore store = new DenseKvStore(model.config().kvLayout(), 8);
        assertThrows(IllegalStateException.class, batch::wantLogitsOfLastRow);
        batch.add(5, 0, store);
        batch.add(6, 1, store);
        batch.wantLogitsOfLastRow();
        assertThrows(IllegalStateException.class, batch::wantLogitsOfLastRow, "the same row twice");
        batch.add(7, 0, store);
        assertThrows(IllegalStateException.class, () -> batch.add(8, 1, store), "full");
        assertEquals(3, batch.rows());
        assertEquals(6, batch.token(1));
        assertEquals(1, batch.position(1));
        assertArrayEquals(new int[]{1}, batch.logitRows());
        assertThrows(IndexOutOfBoundsException.class, () -> batch.token(3));
        batch.clear();
        assertEquals(0, batch.rows());
        assertArrayEquals(new int[0], batch.logitRows());
    }

    @Test
    void theDefaultStepIsTheModelsPrefillChunk() {
        assertEquals(LlamaModel.DEFAULT_PREFILL_CHUNK, SchedulerConfig.DEFAULT_STEP_TOKENS);
    }

    /** The seam holds: the scheduler plans and hands rows to a runner without knowing the model. */
    @Test
    void theSchedulerDoesNotImportTheModel() throws IOException {
        Path scheduler = Path.of("src/main/java/dev/ultrakv/scheduler");
        List<Path> sources;
        try (Stream<Path> files = Files.list(scheduler)) {
            sources = files.filter(f -> f.toString().endsWith(".java")).toList();
        }
        assertTrue(sources.size() >= 5, "found " + sources);
        for (Path source : sources) {
            for (String line : Files.readAllLines(source)) {
                assertTrue(!line.startsWith("import dev.ultrakv.model."), source + ": " + line);
            }
        }
    }
}
