package dev.ultrakv.model;

import dev.ultrakv.kvcache.DenseKvStore;
import dev.ultrakv.model.synthetic.SyntheticModel;
import dev.ultrakv.model.synthetic.SyntheticShape;
import dev.ultrakv.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Synthetic models run end to end: written as GGUF and read back, and in reduced precision. */
class SyntheticModelInferenceTest {
    private static final SyntheticShape SHAPE = SyntheticShape.TEST_SMALL;
    private static final long SEED = 7;
    private static final String PROMPT = "The quick brown fox jumps over the lazy dog. Ünïcödé ✓ 123";

    @TempDir
    Path dir;

    /** {@link #SHAPE}, or for the K-quants (256-element super-blocks) the same model widened to dim 256, ffn 512. */
    private static SyntheticShape holding(SyntheticShape shape, GgmlType type) {
        if (SyntheticModel.supports(shape, type)) {
            return shape;
        }
        return new SyntheticShape(shape.name() + "-k", 256, shape.layers(), shape.heads(), shape.kvHeads(), 512,
                shape.vocab(), shape.contextLength());
    }

    /** Logits at every position of the prompt, position after position. */
    static float[][] logitsPerPosition(LlamaModel model, int[] tokens) {
        DenseKvStore store = new DenseKvStore(model.config().kvLayout(), tokens.length);
        ForwardState state = model.newState(1);
        float[][] out = new float[tokens.length][];
        for (int i = 0; i < tokens.length; i++) {
            model.decode(state, tokens[i], i, store);
            out[i] = state.copyLogits(0);
        }
        return out;
    }

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void modelWrittenAsGgufAndReadBackGivesBitIdenticalLogits(GgmlType type) throws IOException {
        Path file = dir.resolve("model.gguf");
        SyntheticShape shape = holding(SHAPE, type);
        SyntheticModel.write(shape, type, SEED, file);
        try (LlamaModel inMemory = ModelLoader.synthetic(shape, type, SEED);
             LlamaModel fromFile = ModelLoader.load(file, null)) {
            int[] tokens = inMemory.tokenizer().encode(PROMPT, true);
            assertArrayEquals(tokens, fromFile.tokenizer().encode(PROMPT, true));
            float[][] expected = logitsPerPosition(inMemory, tokens);
            float[][] actual = logitsPerPosition(fromFile, tokens);
            for (int i = 0; i < tokens.length; i++) {
                assertArrayEquals(expected[i], actual[i], "position " + i);
            }
        }
    }

    /**
     * Relative RMS error of the logits against F32, over every position. The bounds come from the weight
     * rounding: F16 keeps 11 significant bits (relative error about 2^-12 per weight), Q8_0 a step of amax/127
     * per block of 32 (about 0.6% of a Gaussian weight's deviation); errors of independent weights add in
     * quadrature through the layers, so the logits stay within a few times the per-weight error.
     */
    @Test
    void reducedPrecisionModelsAgreeWithF32WithinTheirRoundingError() {
        float[][] reference;
        int[] tokens;
        try (LlamaModel f32 = ModelLoader.synthetic(SHAPE, GgmlType.F32, SEED)) {
            tokens = f32.tokenizer().encode(PROMPT, true);
            reference = logitsPerPosition(f32, tokens);
        }
        assertRelativeError(GgmlType.F16, tokens, reference, 2e-3);
        assertRelativeError(GgmlType.BF16, tokens, reference, 2e-2);
        assertRelativeError(GgmlType.Q8_0, tokens, reference, 2e-2);
        assertRelativeError(GgmlType.Q4_0, tokens, reference, 2.5e-1);
    }

    private static void assertRelativeError(GgmlType type, int[] tokens, float[][] reference, double bound) {
        try (LlamaModel model = ModelLoader.synthetic(SHAPE, type, SEED)) {
            float[][] actual = logitsPerPosition(model, tokens);
            double diff = 0;
            double norm = 0;
            for (int i = 0; i < tokens.length; i++) {
                for (int j = 0; j < reference[i].length; j++) {
                    double d = actual[i][j] - reference[i][j];
                    diff += d * d;
                    norm += (double) reference[i][j] * reference[i][j];
                }
            }
            double relative = Math.sqrt(diff / norm);
            System.out.printf("%s relative logit error %.2e (bound %.1e)%n", type, relative, bound);
            assertTrue(relative <= bound, type + ": relative logit error " + relative + " > " + bound);
        }
    }

    @Test
    void syntheticTokenizerRoundTripsAnyText() {
        try (LlamaModel model = ModelLoader.synthetic(SHAPE, GgmlType.F32, SEED)) {
            int[] tokens = model.tokenizer().encode(PROMPT, true);
            assertEquals(model.tokenizer().bosId(), tokens[0]);
            assertTrue(tokens.length > 5);
        }
    }
}
