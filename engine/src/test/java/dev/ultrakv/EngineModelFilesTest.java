package dev.ultrakv;

import dev.ultrakv.model.ModelFormatException;
import dev.ultrakv.model.gguf.GgufMutants;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Model files that are hostile or broken, served through the engine: refused at construction with a
 * {@link ModelFormatException}, or loaded and served, each request completing or failing with a clear error,
 * and the engine never dying (shared/repro/ProbeLoopDeath, and seeded mutants as GgufFuzzTest makes them).
 */
@ExtendWith(QuietEngineLog.class)
class EngineModelFilesTest {
    private static final long SEED = 20_261_207L;
    private static final int RANDOM_MUTANTS = 40;
    private static final Duration PER_MUTANT = Duration.ofSeconds(30);

    @TempDir
    Path dir;

    /** shared/repro/ProbeLoopDeath: a context of 2^31-1 used to make every forward pass allocate 8 GB. */
    @Test
    void aModelWithAContextOfTwoToTheThirtyOneServesInMemoryProportionalToItsTokens() throws IOException {
        Path file = dir.resolve("ctx_int_max.gguf");
        Files.write(file, GgufMutants.withMetadataInt(GgufMutants.stories260K(), "llama.context_length",
                Integer.MAX_VALUE));
        Path original = dir.resolve("stories260K.gguf");
        Files.write(original, GgufMutants.stories260K());
        assertTimeoutPreemptively(Duration.ofMinutes(1), () -> {
            String expected = greedy(original);
            try (var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().maxTokens(1024)
                    .model(ModelSource.file(file)).build())) {
                for (int i = 0; i < 3; i++) {
                    assertEquals(expected, engine.processRequest(request()).join().text());
                }
                assertEquals(3, engine.getStats().totalRequests());
            }
        });
    }

    /**
     * A model file truncated while the engine has it mapped: the next forward pass faults in the mapping, for
     * real, and the engine moves to FAILED with that cause instead of serving wrong answers or a silent "closed".
     */
    @Test
    void aModelFileTruncatedUnderTheEngineFailsItWithTheCause() throws IOException {
        Path file = dir.resolve("truncated-later.gguf");
        Files.write(file, GgufMutants.stories260K());
        assertTimeoutPreemptively(Duration.ofMinutes(1), () -> {
            try (var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().maxTokens(512)
                    .model(ModelSource.file(file)).build())) {
                engine.processRequest(request()).join();
                try (FileChannel channel = FileChannel.open(file, StandardOpenOption.WRITE)) {
                    channel.truncate(4096);
                }
                var e = assertThrows(CompletionException.class, () -> engine.processRequest(
                        Request.builder().text("The cat").maxNewTokens(4).build()).join());
                assertTrue(e.getCause().getMessage().startsWith("engine failed: InternalError"),
                        e.getCause().getMessage());
                EngineStats stats = engine.getStats();
                assertEquals(EngineState.FAILED, stats.state());
                assertTrue(stats.failure().contains("unsafe memory access"), stats.failure());
                var later = assertThrows(CompletionException.class, () -> engine.processRequest(request()).join());
                assertEquals(e.getCause().getMessage(), later.getCause().getMessage());
            }
        });
    }

    /** shared/repro nan_output_norm: NaN logits fail each request clearly, naming model and position. */
    @Test
    void nanLogitsFailEachRequestWithTheModelAndPositionAndTheEngineServesOn() throws IOException {
        Path file = dir.resolve("nan_output_norm.gguf");
        Files.write(file, GgufMutants.withTensorFloat(GgufMutants.stories260K(), "output_norm.weight", 0,
                Float.NaN));
        assertTimeoutPreemptively(Duration.ofMinutes(1), () -> {
            try (var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().maxTokens(512)
                    .model(ModelSource.file(file)).build())) {
                for (float temperature : new float[] {0f, 0.8f}) {
                    var e = assertThrows(CompletionException.class, () -> engine.processRequest(Request.builder()
                            .text("Once upon a time").temperature(temperature).build()).join());
                    String message = e.getCause().getMessage();
                    assertTrue(message.contains("model nan_output_norm produced a non-finite logit (NaN)")
                            && message.contains("at position 4"), message);
                }
                assertEquals(EngineState.RUNNING, engine.getStats().state());
                assertEquals(2, engine.getStats().failedRequests());
            }
        });
    }

    @Test
    void everyMutantIsRefusedAtConstructionOrServedWithoutKillingTheEngine() throws IOException {
        Path file = dir.resolve("mutant.gguf");
        int loaded = 0;
        for (Mutant mutant : mutants()) {
            Files.write(file, mutant.bytes());
            if (assertTimeoutPreemptively(PER_MUTANT, () -> serve(file, mutant.description()),
                    mutant.description())) {
                loaded++;
            }
        }
        assertTrue(loaded > 10, "some mutants load and are served: " + loaded);
    }

    private record Mutant(String description, byte[] bytes) {
    }

    /** Each field at its extremes, and seeded flips and truncations, as GgufFuzzTest draws them. */
    private static List<Mutant> mutants() {
        byte[] original = GgufMutants.stories260K();
        int dataOffset = GgufMutants.tensorDataOffset(original);
        List<Mutant> out = new ArrayList<>();
        for (String key : GgufMutants.integerKeys(original)) {
            for (long value : new long[] {0, -1, Integer.MAX_VALUE, 100_000_000}) {
                out.add(new Mutant(key + " = " + value, GgufMutants.withMetadataInt(original, key, value)));
            }
        }
        Random random = new Random(SEED);
        for (int i = 0; i < RANDOM_MUTANTS; i++) {
            long seed = random.nextLong();
            out.add(new Mutant("header flips seed " + seed,
                    GgufMutants.flipBytes(original, seed, 1 + random.nextInt(4), 0, dataOffset)));
            out.add(new Mutant("data flips seed " + seed,
                    GgufMutants.flipBytes(original, seed, 1 + random.nextInt(16), dataOffset, original.length)));
            int length = dataOffset + random.nextInt(original.length - dataOffset);
            out.add(new Mutant("truncated to " + length, GgufMutants.truncate(original, length)));
        }
        return out;
    }

    /** Starts an engine on the mutant and serves two requests; false if the engine refused the file. */
    private static boolean serve(Path file, String what) {
        UltraAdaptiveKVCacheEngine engine;
        try {
            engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().maxTokens(512)
                    .model(ModelSource.file(file)).build());
        } catch (ModelFormatException e) {
            assertTrue(e.getMessage().contains(file.toString()), what + ": " + e.getMessage());
            return false;
        } catch (IllegalArgumentException e) {
            // The file loads but the cache cannot be built for its shape: named, before any allocation.
            assertTrue(e.getMessage().contains("maxTokens") || e.getMessage().contains("head"),
                    what + ": " + e.getMessage());
            return false;
        }
        try (engine) {
            List<CompletableFuture<RequestResult>> futures = List.of(engine.processRequest(request()),
                    engine.processRequest(Request.builder().text("The sun").maxNewTokens(4).build()));
            for (CompletableFuture<RequestResult> f : futures) {
                try {
                    f.join();
                } catch (CompletionException e) {
                    Throwable cause = e.getCause();
                    if (!(cause instanceof IllegalArgumentException || cause instanceof IllegalStateException)) {
                        fail(what + ": a request failed with " + cause, cause);
                    }
                    assertTrue(cause.getMessage() != null && !cause.getMessage().isEmpty(), what);
                }
            }
            EngineStats stats = engine.getStats();
            assertEquals(EngineState.RUNNING, stats.state(), what + ": " + stats.failure());
            assertEquals(stats.submittedRequests(), stats.endedRequests(), what);
            engine.onLoop(cache -> {
                cache.checkInvariants();
                assertEquals(0, cache.pinnedBlocks());
            }).join();
        }
        return true;
    }

    private static Request request() {
        return Request.builder().text("Once upon a time").maxNewTokens(8).build();
    }

    private static String greedy(Path model) {
        try (var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().maxTokens(1024)
                .model(ModelSource.file(model)).build())) {
            return engine.processRequest(request()).join().text();
        }
    }
}
