package dev.ultrakv.model;

import dev.ultrakv.model.gguf.GgufMutants;
import dev.ultrakv.sampling.NonFiniteLogitsException;
import dev.ultrakv.sampling.Sampler;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Seeded mutants of stories260K.gguf (extreme metadata integers, flipped bytes in the header and in the data,
 * truncations) are each either refused with a {@link ModelFormatException} naming the file, or loaded; a loaded
 * one generates a few tokens greedily or fails with the non-finite logit error. Nothing else: no other
 * exception, no {@link OutOfMemoryError}, no hang.
 */
class GgufFuzzTest {
    private static final long SEED = 20_251_207L;
    /** Random mutants of each kind, besides every integer key at every extreme value. */
    private static final int MUTANTS_PER_KIND = 60;
    private static final long[] EXTREMES = {
        0, 1, -1, Integer.MAX_VALUE, 0xFFFF_FFFFL, Long.MAX_VALUE, 100_000_000,
    };
    private static final int TOKENS = 4;
    /** Far above the milliseconds a mutant takes; only a hang or a runaway allocation comes near it. */
    private static final Duration PER_MUTANT = Duration.ofSeconds(20);

    @TempDir
    Path dir;

    /** A mutant and how it was made, for the failure message. */
    private record Mutant(String description, byte[] bytes) {
    }

    @Test
    void everyMutant_isRefusedClearlyOrLoadsAndGenerates() throws IOException {
        List<Mutant> mutants = mutants();
        Path file = dir.resolve("mutant.gguf");
        for (Mutant mutant : mutants) {
            Files.write(file, mutant.bytes());
            assertTimeoutPreemptively(PER_MUTANT, () -> check(file, mutant), mutant.description());
        }
    }

    private static List<Mutant> mutants() {
        byte[] original = GgufMutants.stories260K();
        int dataOffset = GgufMutants.tensorDataOffset(original);
        List<Mutant> out = new ArrayList<>();
        for (String key : GgufMutants.integerKeys(original)) {
            for (long value : EXTREMES) {
                out.add(new Mutant(key + " = " + value, GgufMutants.withMetadataInt(original, key, value)));
            }
        }
        Random random = new Random(SEED);
        for (int i = 0; i < MUTANTS_PER_KIND; i++) {
            long seed = random.nextLong();
            int count = 1 + random.nextInt(4);
            out.add(new Mutant("header flips seed " + seed + " count " + count,
                    GgufMutants.flipBytes(original, seed, count, 0, dataOffset)));
            count = 1 + random.nextInt(16);
            out.add(new Mutant("data flips seed " + seed + " count " + count,
                    GgufMutants.flipBytes(original, seed, count, dataOffset, original.length)));
            int length = random.nextInt(dataOffset + 64);
            out.add(new Mutant("truncated to " + length, GgufMutants.truncate(original, length)));
            length = dataOffset + random.nextInt(original.length - dataOffset);
            out.add(new Mutant("truncated to " + length, GgufMutants.truncate(original, length)));
            String key = GgufMutants.integerKeys(original).get(random.nextInt(GgufMutants.integerKeys(original)
                    .size()));
            long value = random.nextLong() >> random.nextInt(64);
            out.add(new Mutant(key + " = " + value, GgufMutants.withMetadataInt(original, key, value)));
        }
        return out;
    }

    private static void check(Path file, Mutant mutant) {
        LlamaModel model;
        try {
            model = GgufModelLoader.load(file);
        } catch (ModelFormatException e) {
            assertTrue(e.getMessage().startsWith(file + ": "), mutant.description() + ": " + e.getMessage());
            return;
        } catch (RuntimeException | Error e) {
            throw new AssertionError(mutant.description() + ": load threw " + e, e);
        }
        try (model) {
            TextGenerator generator = new TextGenerator(model);
            int[] prompt = model.tokenizer().encode("Once upon a time", true);
            if (prompt.length > model.config().contextLength()) {
                prompt = new int[] {model.tokenizer().bosId()};
            }
            generator.generate(prompt, TOKENS, Sampler.greedy(model.config().vocabularySize()), null);
        } catch (NonFiniteLogitsException e) {
            assertTrue(e.getMessage().startsWith("model "), e.getMessage());
        } catch (RuntimeException | Error e) {
            fail(mutant.description() + ": loaded, then generating threw " + e, e);
        }
    }
}
