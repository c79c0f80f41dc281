package dev.ultrakv;

import dev.ultrakv.kvcache.KvCacheManager;
import dev.ultrakv.kvcache.KvCacheSpec;
import dev.ultrakv.kvcache.codec.KvCodecKind;
import dev.ultrakv.kvcache.compress.CompressionMethod;
import dev.ultrakv.kvcache.compress.KvCompression;
import dev.ultrakv.kvcache.policy.PolicyKind;
import dev.ultrakv.model.ForwardState;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.ModelLoader;
import dev.ultrakv.sampling.Sampler;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A compressed sequence holds its ratio of positions (within a block) from the end of its prompt on, through
 * every method and codec; its prompt is cached in full for later requests; nothing leaks.
 */
class CompressedSequenceTest {
    private static final int BLOCK = 16;
    private static final int PROMPT = 300;
    private static final int NEW_TOKENS = 60;
    private static final double RATIO = 0.3;

    private static int[] prompt(LlamaModel model) {
        StringBuilder text = new StringBuilder();
        for (int i = 0; text.length() < 4 * PROMPT; i++) {
            text.append("Tom had a red ball number ").append(i).append(". He liked to play with it in the sun. ");
        }
        int[] tokens = model.tokenizer().encode(text.toString(), true);
        assertTrue(tokens.length >= PROMPT);
        return Arrays.copyOf(tokens, PROMPT);
    }

    private static KvCacheManager cache(LlamaModel model, CompressionMethod method, KvCodecKind codec) {
        return new KvCacheManager(model.name(), model.config().kvLayout(),
                KvCacheSpec.ofTokens(BLOCK, 4096, PolicyKind.LRU).withCodec(codec)
                        .withCompression(new KvCompression(method, RATIO)));
    }

    /** Runs prompt then greedy tokens step by step, checking the entries after each compaction. */
    private static int[] generate(LlamaModel model, KvCacheManager cache, int[] prompt) {
        ForwardState state = model.newState(LlamaModel.DEFAULT_PREFILL_CHUNK);
        Sampler greedy = Sampler.greedy(model.config().vocabularySize());
        KvCacheManager.Sequence s = cache.acquire(prompt, NEW_TOKENS);
        float[] logits = model.prefill(state, prompt, s.computeFrom(), prompt.length, s.computeFrom(), s.store());
        cache.compact(s);
        assertTrue(s.isCompacted());
        assertEquals((int) Math.ceil(RATIO * PROMPT), s.store().entries(), "the prompt is thinned to its share");
        int[] tokens = Arrays.copyOf(prompt, prompt.length + NEW_TOKENS);
        int position = prompt.length;
        for (int i = 0; i < NEW_TOKENS - 1; i++) {
            int next = greedy.sample(logits, 0);
            tokens[position] = next;
            logits = model.decode(state, next, position, s.store());
            position++;
            cache.compact(s);
            assertEquals(position, s.store().positions());
            assertTrue(s.store().entries() <= Math.ceil(RATIO * position) + BLOCK,
                    s.store().entries() + " entries for " + position + " positions");
            cache.checkInvariants();
        }
        cache.release(s, tokens, position);
        cache.checkInvariants();
        return Arrays.copyOfRange(tokens, prompt.length, position);
    }

    @Test
    void everyMethodKeepsItsShareCachesThePromptAndLeaksNothing() {
        try (LlamaModel model = ModelLoader.loadEmbedded()) {
            int[] prompt = prompt(model);
            for (CompressionMethod method : CompressionMethod.values()) {
                for (KvCodecKind codec : new KvCodecKind[] {KvCodecKind.F32, KvCodecKind.INT8, KvCodecKind.INT4}) {
                    try (KvCacheManager cache = cache(model, method, codec)) {
                        int[] first = generate(model, cache, prompt);
                        assertEquals(cache.usedBlocks(), cache.cachedBlocks(), "only cached blocks remain in use");
                        assertTrue(cache.cachedBlocks() >= PROMPT / BLOCK, "the prompt is cached in full");

                        KvCacheManager.Sequence again = cache.acquire(prompt, NEW_TOKENS);
                        assertTrue(again.isFullHit(), method + " " + codec);
                        assertTrue(again.reusedTokens() >= PROMPT - 32 - BLOCK, "reused " + again.reusedTokens());
                        cache.abort(again);

                        int[] second = generate(model, cache, prompt);
                        if (method != CompressionMethod.H2O) {
                            // H2O counts every query's attention; over a cached prompt it sees only the queries it
                            // computes, so it may keep other entries. The others choose alike either way.
                            assertArrayEquals(first, second,
                                    method + " " + codec + ": a cached prompt compresses and generates alike");
                        }
                        cache.checkInvariants();
                    }
                }
            }
        }
    }

    @Test
    void compressionChangesWhatIsGeneratedOnlyByWhatItDrops() {
        try (LlamaModel model = ModelLoader.loadEmbedded();
             KvCacheManager full = new KvCacheManager(model.name(), model.config().kvLayout(), BLOCK, 4096,
                     PolicyKind.LRU);
             KvCacheManager streaming = cache(model, CompressionMethod.STREAMING, KvCodecKind.F32)) {
            int[] prompt = prompt(model);
            var runner = new SequenceRunner(model, full);
            var reference = runner.run(prompt, NEW_TOKENS, Sampler.greedy(model.config().vocabularySize()), null);
            var compressed = new SequenceRunner(model, streaming)
                    .run(prompt, NEW_TOKENS, Sampler.greedy(model.config().vocabularySize()), null);
            assertFalse(compressed.generated().length == 0);
            assertEquals(0, streaming.liveSequences());
            assertTrue(reference.generated().length > 0);
        }
    }
}
