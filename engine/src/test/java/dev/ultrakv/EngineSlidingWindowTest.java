package dev.ultrakv;

import dev.ultrakv.model.synthetic.SyntheticShape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;

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
    private static final int SEED = 11;
    /** 16 blocks of 16 positions: two 100-token generations with full attention, all four in their windows. */
    private static final int SMALL_CACHE = 256;

    private record Run(List<RequestResult> results, EngineStats stats) {
    }

    private static Run run(SyntheticShape shape, int maxTokens) {
        var config = KVCacheConfig.builder().model(ModelSource.synthetic(shape, SEED)).maxTokens(maxTokens).build();
        try (var engine = new UltraAdaptiveKVCacheEngine(config)) {
            List<CompletableFuture<RequestResult>> futures = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
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

    @Test
    void longGenerationsRunSideBySideInTheirWindowsWithTheTokensOfALargeCache() {
        assertTimeoutPreemptively(DEADLINE, () -> {
            Run large = run(SyntheticShape.TEST_MISTRAL, 4096);
            Run small = run(SyntheticShape.TEST_MISTRAL, SMALL_CACHE);
            for (int i = 0; i < 4; i++) {
                RequestResult expected = large.results().get(i);
                assertTrue(expected.generatedTokens() > 64, "random weights run long: " + expected.generatedTokens());
                assertEquals(expected.text(), small.results().get(i).text(), "request " + i);
            }
            assertEquals(0, small.stats().preemptions(), "each holds about its window: all four fit at once");
            Run fullAttention = run(SyntheticShape.TEST_TINY, SMALL_CACHE);
            assertTrue(fullAttention.stats().preemptions() > 0, "the same shape without a window must take turns");
        });
    }
}
