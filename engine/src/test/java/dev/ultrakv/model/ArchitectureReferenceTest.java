package dev.ultrakv.model;

import dev.ultrakv.kvcache.BlockPool;
import dev.ultrakv.kvcache.DenseKvStore;
import dev.ultrakv.kvcache.KvStore;
import dev.ultrakv.kvcache.PagedKvStore;
import dev.ultrakv.model.gguf.GgufFile;
import dev.ultrakv.model.synthetic.SyntheticFamily;
import dev.ultrakv.model.synthetic.SyntheticModel;
import dev.ultrakv.model.synthetic.SyntheticShape;
import dev.ultrakv.tensor.GgmlType;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Each family computes what its definition says: the logits of a tiny synthetic F32 model of the family agree with
 * {@link ReferenceTransformer}'s, a plain double-precision transcription, at every position of a prompt longer
 * than the sliding windows, and greedy decoding picks the same tokens.
 *
 * <p>Tolerance: the engine computes in float (24-bit significands) through two layers of sums over at most a few
 * hundred terms; the logits are of order 1, so their differences from the double reference stay near 1e-7 (seen:
 * 1.1e-7 to 2.5e-7). The bound {@value #TOLERANCE} leaves a margin of about 40 over that, yet is far below what a
 * wrong detail (a window ignored, a norm misplaced, RoPE paired wrongly) changes, which is of the logits' order.
 */
class ArchitectureReferenceTest {
    private static final double TOLERANCE = 1e-5;
    private static final long SEED = 11;
    private static final int PROMPT = 20;
    private static final int GENERATED = 12;
    private static final int PAGED_BLOCK = 4;

    static Stream<Arguments> families() {
        // The named test shapes are untied; tied embeddings as Llama 3.2 and the small Qwens have them:
        SyntheticShape llama3Tied = new SyntheticShape("llama3-tied", 64, 2, 4, 2, 96, 384, 128,
                SyntheticFamily.LLAMA3);
        SyntheticShape qwen3Tied = new SyntheticShape("qwen3-tied", 64, 2, 4, 2, 96, 384, 128,
                SyntheticFamily.qwen3(32));
        // Gemma 2 27B's queries are scaled by dim / heads, not the head size; llama.cpp tells it by 46 layers.
        SyntheticShape gemma27b = new SyntheticShape("gemma2-27b-tiny", 64, 46, 4, 2, 96, 384, 128,
                SyntheticFamily.gemma2(32, 8));
        return Stream.of(SyntheticShape.TEST_TINY, SyntheticShape.TEST_LLAMA3, SyntheticShape.TEST_MISTRAL,
                SyntheticShape.TEST_QWEN2, SyntheticShape.TEST_QWEN3, SyntheticShape.TEST_PHI3, llama3Tied,
                qwen3Tied, SyntheticShape.TEST_GEMMA2, gemma27b).map(Arguments::of);
    }

    private static int[] prompt(int vocabulary) {
        int[] tokens = new int[PROMPT];
        tokens[0] = 1;
        for (int i = 1; i < tokens.length; i++) {
            tokens[i] = 3 + (i * 53) % (vocabulary - 3);
        }
        return tokens;
    }

    private static int argmax(double[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }

    private static int argmax(float[] x) {
        int best = 0;
        for (int i = 1; i < x.length; i++) {
            if (x[i] > x[best]) {
                best = i;
            }
        }
        return best;
    }

    @ParameterizedTest
    @MethodSource("families")
    void logitsAndGreedyTokensMatchThePlainReference(SyntheticShape shape) {
        try (LlamaModel model = ModelLoader.synthetic(shape, GgmlType.F32, SEED)) {
            int total = PROMPT + GENERATED;
            assertMatchesReference(shape, model, new DenseKvStore(model.config().kvLayout(), total));
        }
    }

    /** The paged store too: blocks of 4 positions, so that windows of 8 start inside blocks and skip others. */
    @ParameterizedTest
    @MethodSource("families")
    void overAPagedStoreLogitsAndGreedyTokensMatchThePlainReference(SyntheticShape shape) {
        int total = PROMPT + GENERATED;
        try (LlamaModel model = ModelLoader.synthetic(shape, GgmlType.F32, SEED);
             BlockPool pool = BlockPool.forTokens(model.config().kvLayout(), PAGED_BLOCK, total)) {
            PagedKvStore store = new PagedKvStore(pool);
            while (store.capacity() < total) {
                store.appendBlock(pool.allocate());
            }
            assertMatchesReference(shape, model, store);
            store.releaseBlocks();
        }
    }

    private static void assertMatchesReference(SyntheticShape shape, LlamaModel model, KvStore store) {
        try (GgufFile file = SyntheticModel.create(shape, GgmlType.F32, SEED)) {
            ReferenceTransformer reference = new ReferenceTransformer(file);
            int vocabulary = model.config().vocabularySize();
            int[] prompt = prompt(vocabulary);
            int total = PROMPT + GENERATED;
            ForwardState state = model.newState(1);
            double worst = 0;
            double spread = 0;
            int[] ours = new int[GENERATED];
            int[] theirs = new int[GENERATED];
            int token = prompt[0];
            for (int position = 0; position < total - 1; position++) {
                float[] actual = model.decode(state, token, position, store);
                double[] expected = reference.next(token);
                for (int i = 0; i < vocabulary; i++) {
                    worst = Math.max(worst, Math.abs(actual[i] - expected[i]));
                    spread = Math.max(spread, Math.abs(expected[i]));
                }
                int generated = position + 1 - PROMPT;
                if (generated >= 0) {
                    ours[generated] = argmax(actual);
                    theirs[generated] = argmax(expected);
                    token = theirs[generated];
                } else {
                    token = prompt[position + 1];
                }
            }
            System.out.printf("%s, %s: largest logit difference %.2e (logits up to %.2f)%n", shape.name(),
                    store.getClass().getSimpleName(), worst, spread);
            assertTrue(worst <= TOLERANCE, shape.name() + ": logits differ by " + worst);
            assertArrayEquals(theirs, ours, shape.name() + ": greedy tokens");
            assertTrue(spread > 100 * TOLERANCE, "the logits are not all near zero");
        }
    }
}
