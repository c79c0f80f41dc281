package dev.ultrakv.model;

import dev.ultrakv.kvcache.DenseKvStore;
import dev.ultrakv.kvcache.KvStore;
import dev.ultrakv.model.synthetic.SyntheticShape;
import dev.ultrakv.tensor.GgmlType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.net.URISyntaxException;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * A row's result must not depend on which rows share its batch: prefix caching prefills only the uncached tail
 * of a prompt, and continuous batching mixes sequences, yet both must give the logits of a plain run bit for
 * bit.
 */
class BatchInvarianceTest {
    private static final String EMBEDDED = "embedded";

    /**
     * The embedded F32 model; llama.cpp's quantized ones: K-quant super-blocks of 256 (Q4_K with Q6_K), and a
     * 32-element type (Q5_1); and a tiny model of each other family, whose own steps (biases, head norms, RoPE of
     * halves, a sliding window of 8 that starts inside the batch) must keep a row's logits independent of its batch.
     */
    static Stream<String> models() {
        return Stream.of(EMBEDDED, "kq-d256-l2-s11-Q4_K_M.gguf", "kq-d256-l2-s11-Q5_1.gguf",
                SyntheticShape.TEST_LLAMA3.name(), SyntheticShape.TEST_MISTRAL.name(),
                SyntheticShape.TEST_QWEN2.name(), SyntheticShape.TEST_QWEN3.name(), SyntheticShape.TEST_PHI3.name(),
                SyntheticShape.TEST_GEMMA2.name());
    }

    private static LlamaModel load(String name) throws URISyntaxException {
        if (name.equals(EMBEDDED)) {
            return ModelLoader.loadEmbedded();
        }
        if (name.endsWith(".gguf")) {
            return GgmlQuantModelTest.load(name);
        }
        return ModelLoader.synthetic(SyntheticShape.named(name), GgmlType.F32, 5);
    }

    private static int[] randomTokens(LlamaModel model, long seed, int n) {
        SplittableRandom random = new SplittableRandom(seed);
        int[] tokens = new int[n];
        tokens[0] = model.tokenizer().bosId();
        for (int i = 1; i < n; i++) {
            tokens[i] = 3 + random.nextInt(model.config().vocabularySize() - 3);
        }
        return tokens;
    }

    @ParameterizedTest
    @MethodSource("models")
    void prefillLogitsEqualTokenByTokenDecodeBitForBit(String name) throws URISyntaxException {
        try (LlamaModel model = load(name)) {
            prefillLogitsEqualTokenByTokenDecode(model);
        }
    }

    private static void prefillLogitsEqualTokenByTokenDecode(LlamaModel model) {
        for (int n : new int[] {1, 2, 7, 33, 100}) {
            int[] tokens = randomTokens(model, n, n);
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

    @ParameterizedTest
    @MethodSource("models")
    void splittingAPrefillAnywhereGivesTheSameLogits(String name) throws URISyntaxException {
        try (LlamaModel model = load(name)) {
            splittingAPrefillGivesTheSameLogits(model);
        }
    }

    private static void splittingAPrefillGivesTheSameLogits(LlamaModel model) {
        int n = 57;
        int[] tokens = randomTokens(model, 42, n);
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
