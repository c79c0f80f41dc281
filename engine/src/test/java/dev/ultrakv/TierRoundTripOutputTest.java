package dev.ultrakv;

import dev.ultrakv.kvcache.KvCacheManager;
import dev.ultrakv.kvcache.KvCacheSpec;
import dev.ultrakv.kvcache.codec.KvCodecKind;
import dev.ultrakv.kvcache.compress.CompressionMethod;
import dev.ultrakv.kvcache.compress.KvCompression;
import dev.ultrakv.kvcache.policy.PolicyKind;
import dev.ultrakv.kvcache.tier.InMemoryKvTier;
import dev.ultrakv.kvcache.tier.KvTier;
import dev.ultrakv.kvcache.tier.TierLoad;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.ModelLoader;
import dev.ultrakv.sampling.Sampler;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Blocks that went to a tier and came back are the blocks that left: for every codec (and with compression), a
 * prompt computed by cache A is written through to a tier, and a fresh cache B over the same store (another engine
 * sharing one Redis) promotes its full blocks and then gives the logits and tokens bit for bit of A serving it from
 * memory and of a cache that recomputes it.
 */
class TierRoundTripOutputTest {
    private static final int BLOCK = 16;
    private static final int CACHE_TOKENS = 4096;
    private static final int STEPS = 8;
    private static final List<KvCodecKind> CODECS = List.of(KvCodecKind.F32, KvCodecKind.F16, KvCodecKind.INT8,
            KvCodecKind.INT4, KvCodecKind.INT2);

    private record Run(List<float[]> logits, int[] tokens, int cachedTokens) {
    }

    private static KvCacheManager newCache(LlamaModel model, KvCacheSpec spec, List<KvTier> tiers) {
        return new KvCacheManager(model.name(), model.config().kvLayout(), spec, tiers, Duration.ofSeconds(1));
    }

    private static Run run(LlamaModel model, KvCacheManager cache, int[] prompt) {
        SequenceRunner runner = new SequenceRunner(model, cache, LlamaModel.DEFAULT_PREFILL_CHUNK);
        List<float[]> logits = new ArrayList<>();
        var outcome = runner.run(prompt, STEPS, Sampler.greedy(model.config().vocabularySize()),
                (step, l) -> logits.add(Arrays.copyOf(l, model.config().vocabularySize())));
        cache.checkInvariants();
        return new Run(logits, outcome.generated(), outcome.cachedTokens());
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

    /**
     * Runs the round trip over {@code spec}: A computes and writes through, B promotes and serves.
     *
     * @param cachedIsUncached whether a cached run gives the uncached logits over this spec: not under compression
     *                         by attention, which sees fewer prompt queries when the prompt is cached, from memory
     *                         or from a tier alike (docs/compression.md)
     */
    private static void assertRoundTrip(LlamaModel model, KvCacheSpec spec, boolean cachedIsUncached, String what) {
        int[] prompt = prompt(model);
        int fullBlocks = prompt.length / BLOCK;
        InMemoryKvTier.Store store = new InMemoryKvTier.Store();
        Run uncached;
        try (KvCacheManager fresh = newCache(model, spec, List.of())) {
            uncached = run(model, fresh, prompt);
        }
        Run fromMemory;
        try (KvCacheManager a = newCache(model, spec, List.of(new InMemoryKvTier(store)))) {
            Run first = run(model, a, prompt);
            assertSameRun(uncached, first, what + ", cache A's first run");
            assertTrue(store.size() >= fullBlocks, what + ": every full prompt block is written through, "
                    + store.size());
            fromMemory = run(model, a, prompt);
        }
        InMemoryKvTier tierB = new InMemoryKvTier(store);
        try (KvCacheManager b = newCache(model, spec, List.of(tierB))) {
            TierLoad load = b.startLoad(prompt, prompt.length, 0);
            assertNotNull(load, what + ": B's memory holds nothing, so it asks the tier");
            assertEquals(0, load.firstBlock());
            assertEquals(fullBlocks, load.blocksAsked());
            assertTrue(load.isDone(), what + ": the in-memory tier answers at once");
            assertEquals(fullBlocks, b.promote(load, prompt, prompt.length), what);
            b.checkInvariants();
            assertEquals(fullBlocks, b.cachedBlocks(), what + ": promoted blocks are ordinary cached blocks");
            assertEquals(fullBlocks, b.tiers().promotedBlocks());
            assertEquals(0, b.tiers().recomputedLoads());

            Run promoted = run(model, b, prompt);
            assertEquals(fullBlocks * BLOCK, promoted.cachedTokens, what + ": the promoted tokens are cached");
            assertSameRun(fromMemory, promoted, what + ", promoted vs memory-resident");
            if (cachedIsUncached) {
                assertSameRun(uncached, promoted, what + ", promoted vs recomputed");
            }
            assertEquals(null, b.startLoad(prompt, prompt.length, 0), what + ": nothing left to ask for");
        }
        assertTrue(tierB.isClosed(), "the cache closes the tiers it owns");
    }

    @Test
    void promotedBlocksGiveTheLogitsOfMemoryResidentAndRecomputedBlocksForEveryCodec() {
        try (LlamaModel model = ModelLoader.loadEmbedded()) {
            for (KvCodecKind codec : CODECS) {
                assertRoundTrip(model, KvCacheSpec.ofTokens(BLOCK, CACHE_TOKENS, PolicyKind.LRU).withCodec(codec),
                        true, codec.toString());
            }
        }
    }

    @Test
    void promotedBlocksGiveTheSameLogitsUnderCompression() {
        try (LlamaModel model = ModelLoader.loadEmbedded()) {
            for (CompressionMethod method : CompressionMethod.values()) {
                for (KvCodecKind codec : List.of(KvCodecKind.F32, KvCodecKind.INT8)) {
                    assertRoundTrip(model, KvCacheSpec.ofTokens(BLOCK, CACHE_TOKENS, PolicyKind.LRU).withCodec(codec)
                            .withCompression(new KvCompression(method, 0.5)), method == CompressionMethod.STREAMING,
                            method + " " + codec);
                }
            }
        }
    }

    @Test
    void aPoolWithoutRoomForAllPromotesWhatFitsAndCountsARecompute() {
        try (LlamaModel model = ModelLoader.loadEmbedded()) {
            int[] prompt = prompt(model);
            int fullBlocks = prompt.length / BLOCK;
            InMemoryKvTier.Store store = new InMemoryKvTier.Store();
            KvCacheSpec roomy = KvCacheSpec.ofTokens(BLOCK, CACHE_TOKENS, PolicyKind.LRU);
            try (KvCacheManager a = newCache(model, roomy, List.of(new InMemoryKvTier(store)))) {
                run(model, a, prompt);
            }
            KvCacheSpec small = KvCacheSpec.ofTokens(BLOCK, 2 * BLOCK, PolicyKind.LRU);
            assertTrue(fullBlocks > 2);
            try (KvCacheManager b = newCache(model, small, List.of(new InMemoryKvTier(store)))) {
                TierLoad load = b.startLoad(prompt, prompt.length, 0);
                assertEquals(2, b.promote(load, prompt, prompt.length), "the leading blocks that fit");
                assertEquals(1, b.tiers().recomputedLoads());
                b.checkInvariants();
                assertEquals(2, b.cachedBlocks());
                TierLoad rest = b.startLoad(prompt, prompt.length, 0);
                assertEquals(2, rest.firstBlock(), "a later load asks only after the promoted prefix");
            }
        }
    }

    @Test
    void blocksAlreadyInTheTierAreNotOfferedAgain() {
        try (LlamaModel model = ModelLoader.loadEmbedded()) {
            int[] prompt = prompt(model);
            InMemoryKvTier.Store store = new InMemoryKvTier.Store();
            InMemoryKvTier tier = new InMemoryKvTier(store);
            try (KvCacheManager a = newCache(model, KvCacheSpec.ofTokens(BLOCK, CACHE_TOKENS, PolicyKind.LRU),
                    List.of(tier))) {
                run(model, a, prompt);
                long offers = tier.offers();
                assertEquals(store.size(), offers, "each full block offered once");
                run(model, a, prompt);
                assertEquals(offers, tier.offers(), "a repeated prompt offers nothing new");
            }
        }
    }
}
