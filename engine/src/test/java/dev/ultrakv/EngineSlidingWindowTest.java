package dev.ultrakv;

import dev.ultrakv.model.synthetic.SyntheticShape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A model whose every layer slides (Mistral-style, a window of 8 keys): a running request holds its window of
 * blocks, not its whole length, so long generations that would not fit side by side with full attention run
 * together, with the tokens they have in a cache large enough for all of them.
 */
@ExtendWith(QuietEngineLog.class)
class EngineSlidingWindowTest {
    private static final Duration DEADLINE = Duration.ofMinutes(2);
    /** The test shapes' sliding window. */
    private static final int WINDOW = 8;
    /** 16 blocks of 16 positions: two 100-token generations with full attention, all four in their windows. */
    private static final int SMALL_CACHE = 256;

    private record Run(List<RequestResult> results, EngineStats stats) {
    }

    private static Run run(SyntheticShape shape, long seed, int maxTokens) {
        return run(shape, seed, maxTokens, 4);
    }

    private static Run run(SyntheticShape shape, long seed, int maxTokens, int requests) {
        var config = KVCacheConfig.builder().model(ModelSource.synthetic(shape, seed)).maxTokens(maxTokens).build();
        try (var engine = new UltraAdaptiveKVCacheEngine(config)) {
            List<CompletableFuture<RequestResult>> futures = new ArrayList<>();
            for (int i = 0; i < requests; i++) {
                // Four-token prompts (BOS and three ids), so the 128-token context leaves room for 100 new ones.
                futures.add(engine.processRequest(Request.builder().promptTokens(new int[] {1, 40 + i, 80 + i, 120})
                        .id("r" + i).maxNewTokens(100).build()));
            }
            List<RequestResult> results = futures.stream().map(CompletableFuture::join).toList();
            engine.onLoop(cache -> {
                cache.checkInvariants();
                assertEquals(0, cache.liveSequences());
                assertEquals(0, cache.pinnedBlocks());
            }).join();
            return new Run(results, engine.getStats());
        }
    }

    /**
     * Mistral-style llama and Phi-3 (fused matrices), a window of 8 on every layer, with weights seeded so that every
     * request runs past its window several times before its end-of-sequence token.
     */
    static Stream<Arguments> windowedModels() {
        return Stream.of(Arguments.of(SyntheticShape.TEST_MISTRAL, 11L), Arguments.of(SyntheticShape.TEST_PHI3, 15L));
    }

    @ParameterizedTest
    @MethodSource("windowedModels")
    void longGenerationsRunSideBySideInTheirWindowsWithTheTokensOfALargeCache(SyntheticShape shape, long seed) {
        assertTimeoutPreemptively(DEADLINE, () -> {
            Run large = run(shape, seed, 4096);
            Run small = run(shape, seed, SMALL_CACHE);
            for (int i = 0; i < 4; i++) {
                RequestResult expected = large.results().get(i);
                assertTrue(expected.generatedTokens() > 8 * WINDOW, "random weights run long: "
                        + expected.generatedTokens());
                assertEquals(expected.text(), small.results().get(i).text(), "request " + i);
            }
            assertEquals(0, small.stats().preemptions(), "each holds about its window: all four fit at once");
        });
    }

    @Test
    void preemptedWindowedRequestsComeBackWithTheSameTokens() {
        assertTimeoutPreemptively(DEADLINE, () -> {
            // Eight blocks for eight long requests: they preempt one another, and each comes back to its cached
            // chain (or what eviction left of it) and goes on.
            Run large = run(SyntheticShape.TEST_MISTRAL, 11, 4096, 8);
            Run tight = run(SyntheticShape.TEST_MISTRAL, 11, 128, 8);
            assertTrue(tight.stats().preemptions() > 0, "the premise: the requests take turns");
            for (int i = 0; i < 8; i++) {
                assertEquals(large.results().get(i).text(), tight.results().get(i).text(), "request " + i);
            }
        });
    }

    @Test
    void theSameShapeWithoutAWindowMustTakeTurnsInThatCache() {
        assertTimeoutPreemptively(DEADLINE, () -> {
            Run fullAttention = run(SyntheticShape.TEST_TINY, 11, SMALL_CACHE);
            assertTrue(fullAttention.stats().preemptions() > 0, "four full-length sequences do not fit at once");
        });
    }
}
