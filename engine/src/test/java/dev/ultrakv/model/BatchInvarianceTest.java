package dev.ultrakv.model;

import dev.ultrakv.kvcache.DenseKvStore;
import dev.ultrakv.kvcache.KvStore;
import dev.ultrakv.model.synthetic.SyntheticShape;
import dev.ultrakv.tensor.GgmlType;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * A row's result must not depend on which rows share its batch: prefix caching prefills only the uncached tail
 * of a prompt, and continuous batching mixes sequences, yet both must give the logits of a plain run bit for
 * bit.
 */
class BatchInvarianceTest {
    private static LlamaModel model;

    @BeforeAll
    static void load() {
        model = ModelLoader.loadEmbedded();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static int[] randomTokens(long seed, int n) {
        SplittableRandom random = new SplittableRandom(seed);
        int[] tokens = new int[n];
        tokens[0] = model.tokenizer().bosId();
        for (int i = 1; i < n; i++) {
            tokens[i] = 3 + random.nextInt(model.config().vocabularySize() - 3);
        }
        return tokens;
    }

    @Test
    void prefillLogitsEqualTokenByTokenDecodeBitForBit() {
        for (int n : new int[] {1, 2, 7, 33, 100}) {
            int[] tokens = randomTokens(n, n);
            KvStore batched = new DenseKvStore(model.config().kvLayout(), n);
            ForwardState state = model.newState(n);
            model.prefill(state, tokens, 0, n, 0, batched);
            float[] prefill = state.copyLogits(0);

            KvStore stepwise = new DenseKvStore(model.config().kvLayout(), n);
            ForwardState one = model.newState(1);
            for (int i = 0; i < n; i++) {
                model.decode(one, tokens[i], i, stepwise);
            }
            assertArrayEquals(one.copyLogits(0), prefill, "prompt of " + n + " tokens");
        }
    }

    static Stream<SyntheticShape> families() {
        return Stream.of(SyntheticShape.TEST_LLAMA3, SyntheticShape.TEST_MISTRAL, SyntheticShape.TEST_QWEN2,
                SyntheticShape.TEST_QWEN3, SyntheticShape.TEST_PHI3);
    }

    /**
     * Each family's own steps (biases, head norms, RoPE of halves, a window that starts inside the batch) keep a
     * row's logits independent of its batch: a 20-row prefill (past the windows of 8) gives decode's bits.
     */
    @ParameterizedTest
    @MethodSource("families")
    void eachFamily_prefillLogitsEqualTokenByTokenDecodeBitForBit(SyntheticShape shape) {
        try (LlamaModel family = ModelLoader.synthetic(shape, GgmlType.F32, 5)) {
            for (int n : new int[] {1, 9, 20}) {
                int[] tokens = new int[n];
                tokens[0] = family.tokenizer().bosId();
                for (int i = 1; i < n; i++) {
                    tokens[i] = 3 + (i * 41) % (family.config().vocabularySize() - 3);
                }
                ForwardState state = family.newState(n);
                family.prefill(state, tokens, 0, n, 0, new DenseKvStore(family.config().kvLayout(), n));
                KvStore stepwise = new DenseKvStore(family.config().kvLayout(), n);
                ForwardState one = family.newState(1);
                for (int i = 0; i < n; i++) {
                    family.decode(one, tokens[i], i, stepwise);
                }
                assertArrayEquals(one.copyLogits(0), state.copyLogits(0), shape.name() + ", " + n + " tokens");
            }
        }
    }

    @Test
    void splittingAPrefillAnywhereGivesTheSameLogits() {
        int n = 57;
        int[] tokens = randomTokens(42, n);
        KvStore whole = new DenseKvStore(model.config().kvLayout(), n);
        ForwardState state = model.newState(n);
        model.prefill(state, tokens, 0, n, 0, whole);
        float[] expected = state.copyLogits(0);
        for (int split : new int[] {1, 16, 31, 56}) {
            KvStore store = new DenseKvStore(model.config().kvLayout(), n);
            ForwardState s = model.newState(n);
            model.prefill(s, tokens, 0, split, 0, store);
            model.prefill(s, tokens, split, n, split, store);
            assertArrayEquals(expected, s.copyLogits(0), "split at " + split);
        }
    }
}
