package dev.ultrakv;

import dev.ultrakv.kvcache.KvCacheManager;
import dev.ultrakv.kvcache.KvCacheSpec;
import dev.ultrakv.kvcache.codec.KvCodecKind;
import dev.ultrakv.kvcache.policy.PolicyKind;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.ModelLoader;
import dev.ultrakv.sampling.Sampler;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Over lossy codecs, what a query reads depends only on its position: the prompt cut into passes of any size, or
 * its first blocks taken from the prefix cache, give the same logits bit for bit as one uncached pass. (The
 * values differ from float32's, by the codec's error; the quality harness measures that.)
 */
class QuantizedCacheOutputTest {
    private static final int BLOCK = 16;
    private static final int CACHE_TOKENS = 4096;
    private static final int STEPS = 10;
    private static final List<KvCodecKind> LOSSY = List.of(KvCodecKind.F16, KvCodecKind.INT8, KvCodecKind.INT4,
            KvCodecKind.INT2);

    private record Run(List<float[]> logits, int[] tokens, int cachedTokens) {
    }

    private static KvCacheManager newCache(LlamaModel model, KvCodecKind codec) {
        return new KvCacheManager(model.name(), model.config().kvLayout(),
                KvCacheSpec.ofTokens(BLOCK, CACHE_TOKENS, PolicyKind.LRU).withCodec(codec));
    }

    private static Run run(LlamaModel model, KvCacheManager cache, int[] prompt, int chunk) {
        SequenceRunner runner = new SequenceRunner(model, cache, chunk);
        List<float[]> logits = new ArrayList<>();
        var outcome = runner.run(prompt, STEPS, Sampler.greedy(model.config().vocabularySize()),
                (step, l) -> logits.add(Arrays.copyOf(l, model.config().vocabularySize())));
        cache.checkInvariants();
        return new Run(logits, outcome.generated(), outcome.cachedTokens());
    }

    private static Run uncached(LlamaModel model, KvCodecKind codec, int[] prompt, int chunk) {
        try (KvCacheManager cache = newCache(model, codec)) {
            return run(model, cache, prompt, chunk);
        }
    }

    private static void assertSameRun(Run expected, Run actual, String what) {
        assertEquals(expected.logits.size(), actual.logits.size(), what);
        for (int step = 0; step < expected.logits.size(); step++) {
            assertArrayEquals(expected.logits.get(step), actual.logits.get(step), what + ", step " + step);
        }
        assertArrayEquals(expected.tokens, actual.tokens, what);
    }

    private static int[] prompt(LlamaModel model) {
        int[] prompt = model.tokenizer().encode("Once upon a time, there was a little girl named Lily. She loved to "
                + "play outside in the park with her friends, and every day she found something new.", true);
        assertFalse(prompt.length % BLOCK == 0, "the prompt ends inside a block");
        assertTrue(prompt.length > 2 * BLOCK);
        return prompt;
    }

    @Test
    void aPromptCutIntoPassesOfAnySizeGivesTheSameLogits() {
        try (LlamaModel model = ModelLoader.loadEmbedded()) {
            int[] prompt = prompt(model);
            for (KvCodecKind codec : LOSSY) {
                Run whole = uncached(model, codec, prompt, LlamaModel.DEFAULT_PREFILL_CHUNK);
                for (int chunk : new int[] {1, 7, BLOCK, 2 * BLOCK + 3}) {
                    assertSameRun(whole, uncached(model, codec, prompt, chunk), codec + ", passes of " + chunk);
                }
            }
        }
    }

    @Test
    void cachedBlocksGiveTheUncachedLogitsBitForBit() {
        try (LlamaModel model = ModelLoader.loadEmbedded()) {
            int[] prompt = prompt(model);
            int chunk = LlamaModel.DEFAULT_PREFILL_CHUNK;
            for (KvCodecKind codec : LOSSY) {
                try (KvCacheManager cache = newCache(model, codec)) {
                    Run first = run(model, cache, prompt, chunk);
                    assertEquals(0, first.cachedTokens);

                    Run repeat = run(model, cache, prompt, chunk);
                    assertEquals((prompt.length - 1) / BLOCK * BLOCK, repeat.cachedTokens,
                            codec + ": a full hit reuses the whole blocks before the last position's block");
                    assertSameRun(first, repeat, codec + ", full hit");

                    int[] diverging = Arrays.copyOf(prompt, prompt.length + 3);
                    diverging[prompt.length - 5] = 42;
                    Run continued = run(model, cache, diverging, chunk);
                    assertEquals((prompt.length - 5) / BLOCK * BLOCK, continued.cachedTokens, codec.toString());
                    assertSameRun(uncached(model, codec, diverging, chunk), continued, codec + ", shared beginning");

                    int[] nextTurn = Arrays.copyOf(prompt, prompt.length + first.tokens.length + 2);
                    System.arraycopy(first.tokens, 0, nextTurn, prompt.length, first.tokens.length);
                    nextTurn[nextTurn.length - 2] = 9;
                    nextTurn[nextTurn.length - 1] = 10;
                    Run turn = run(model, cache, nextTurn, chunk);
                    assertTrue(turn.cachedTokens >= prompt.length / BLOCK * BLOCK, codec + ": " + turn.cachedTokens);
                    assertSameRun(uncached(model, codec, nextTurn, chunk), turn, codec + ", next turn");
                }
            }
        }
    }
}
