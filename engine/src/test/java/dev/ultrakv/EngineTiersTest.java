package dev.ultrakv;

import dev.ultrakv.kvcache.tier.InMemoryKvTier;
import dev.ultrakv.kvcache.tier.TierStats;
import dev.ultrakv.model.synthetic.SyntheticShape;
import dev.ultrakv.scheduler.SchedulerConfig;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtendWith;

import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine over KV tiers: a prompt computed by one engine is served from the tier by a fresh one (cached tokens
 * counted, output unchanged); a tier that fails, corrupts or stalls costs a recompute, never a request; a request
 * loading from a tier holds no block, can be cancelled, and does not hold up the others.
 */
@ExtendWith(QuietEngineLog.class)
class EngineTiersTest {
    private static final ModelSource MODEL = ModelSource.synthetic(SyntheticShape.TEST_SMALL, 3);
    private static final Duration DEADLINE = Duration.ofMinutes(2);
    private static final int BLOCK = KVCacheConfig.DEFAULT_BLOCK_SIZE;
    private static final String PROMPT = "the quick brown fox jumps over the lazy dog while the cat sleeps on the "
            + "warm mat and the birds sing in the tall trees beside the river that runs to the sea";
    private static final int NEW_TOKENS = 8;
    /** Long enough that a stalled load outlives every test that cancels or waits beside it. */
    private static final Duration PATIENT = Duration.ofMinutes(5);

    private static Request request(String text) {
        return Request.builder().text(text).maxNewTokens(NEW_TOKENS).build();
    }

    private static UltraAdaptiveKVCacheEngine engine(InMemoryKvTier tier, Duration loadTimeout) {
        return new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().model(MODEL).maxTokens(2048).addTier(tier)
                .tierLoadTimeout(loadTimeout).build(), SchedulerConfig.builder().build());
    }

    /** Engine A computes the prompt (and writes it through to {@code store}); its result. */
    private static RequestResult computeInto(InMemoryKvTier.Store store) {
        try (var a = engine(new InMemoryKvTier(store), PATIENT)) {
            RequestResult r = a.processRequest(request(PROMPT)).join();
            assertEquals(0, r.cachedPromptTokens());
            assertTrue(r.promptTokens() >= 3 * BLOCK, "the prompt spans blocks: " + r.promptTokens());
            TierStats tier = a.getStats().tiers().tiers().getFirst();
            assertTrue(tier.blocksWritten() >= r.promptTokens() / BLOCK, tier.toString());
            return r;
        }
    }

    private static void assertCacheEmptyOfRequests(UltraAdaptiveKVCacheEngine engine) {
        engine.onLoop(cache -> {
            cache.checkInvariants();
            assertEquals(0, cache.liveSequences());
            assertEquals(0, cache.pinnedBlocks());
            assertEquals(cache.cachedBlocks(), cache.usedBlocks(), "every block in use is cached");
        }).join();
    }

    @Test
    void aFreshEngineServesAPromptAnotherComputedFromTheTierWithItsTokensCounted() {
        assertTimeoutPreemptively(DEADLINE, () -> {
            InMemoryKvTier.Store store = new InMemoryKvTier.Store();
            RequestResult computed = computeInto(store);
            int promoted = computed.promptTokens() / BLOCK * BLOCK;
            InMemoryKvTier tier = new InMemoryKvTier(store);
            try (var b = engine(tier, PATIENT)) {
                RequestResult served = b.processRequest(request(PROMPT)).join();
                assertEquals(promoted, served.cachedPromptTokens(), "cached tokens count the promoted blocks");
                assertEquals(promoted / BLOCK, tier.recycled(), "every record goes back to its tier once copied");
                assertEquals(0, tier.wrongRecycles());
                assertArrayEquals(computed.generatedTokenIds(), served.generatedTokenIds());
                EngineStats stats = b.getStats();
                assertEquals(1, stats.tiers().loads());
                assertEquals(promoted / BLOCK, stats.tiers().promotedBlocks());
                assertEquals(promoted, stats.tiers().promotedTokens());
                assertEquals(0, stats.tiers().recomputedLoads());
                assertEquals(promoted, stats.cachedPromptTokens());
                assertEquals(promoted / BLOCK, stats.tiers().tiers().getFirst().hits());

                RequestResult again = b.processRequest(request(PROMPT)).join();
                assertEquals(computed.promptTokens(), again.cachedPromptTokens(), "now a full hit in memory");
                assertEquals(1, b.getStats().tiers().loads(), "memory answers; the tier is not asked again");
                assertCacheEmptyOfRequests(b);
            }
        });
    }

    @Test
    void aFailingCorruptingOrStalledTierCostsARecomputeNotTheRequest() {
        assertTimeoutPreemptively(DEADLINE, () -> {
            InMemoryKvTier.Store store = new InMemoryKvTier.Store();
            RequestResult computed = computeInto(store);
            for (InMemoryKvTier.Mode mode : new InMemoryKvTier.Mode[] {InMemoryKvTier.Mode.FAILING,
                    InMemoryKvTier.Mode.CORRUPTING, InMemoryKvTier.Mode.HOLDING}) {
                InMemoryKvTier tier = new InMemoryKvTier(store).mode(mode);
                try (var b = engine(tier, Duration.ofMillis(300))) {
                    RequestResult served = b.processRequest(request(PROMPT)).join();
                    assertEquals(0, served.cachedPromptTokens(), mode + ": nothing came back");
                    assertArrayEquals(computed.generatedTokenIds(), served.generatedTokenIds(), mode.toString());
                    EngineStats.Tiers tiers = b.getStats().tiers();
                    assertEquals(0, tiers.promotedBlocks(), mode.toString());
                    switch (mode) {
                        case FAILING -> assertEquals(1, tiers.tiers().getFirst().errors());
                        case CORRUPTING -> {
                            assertEquals(1, tiers.refusedRecords(), "the engine's own check refuses it");
                            assertEquals(1, tiers.recomputedLoads());
                            assertEquals(tiers.tiers().getFirst().hits(), tier.recycled(),
                                    "refused records go back to the tier too");
                            assertEquals(0, tier.wrongRecycles());
                        }
                        case HOLDING -> assertEquals(1, tiers.recomputedLoads(), "the load timed out");
                        case NORMAL -> throw new AssertionError();
                    }
                    assertCacheEmptyOfRequests(b);
                }
            }
        });
    }

    @Test
    void aRequestCancelledWhileLoadingEndsHoldingNoBlock() {
        assertTimeoutPreemptively(DEADLINE, () -> {
            InMemoryKvTier.Store store = new InMemoryKvTier.Store();
            RequestResult computed = computeInto(store);
            InMemoryKvTier tier = new InMemoryKvTier(store).mode(InMemoryKvTier.Mode.HOLDING);
            try (var b = engine(tier, PATIENT)) {
                CompletableFuture<RequestResult> loading = b.processRequest(request(PROMPT));
                awaitLoading(b, 1);
                assertTrue(loading.cancel(true));
                awaitLoading(b, 0);
                assertCacheEmptyOfRequests(b);
                assertEquals(0, b.getStats().blocksUsed(), "nothing was allocated for it");

                tier.releaseHeld();
                tier.mode(InMemoryKvTier.Mode.NORMAL);
                RequestResult served = b.processRequest(request(PROMPT)).join();
                assertArrayEquals(computed.generatedTokenIds(), served.generatedTokenIds());
                assertEquals(1, b.getStats().cancelledRequests());
                assertCacheEmptyOfRequests(b);
            }
        });
    }

    @Test
    void theStepLoopServesOtherRequestsWhileOneLoads() {
        assertTimeoutPreemptively(DEADLINE, () -> {
            InMemoryKvTier.Store store = new InMemoryKvTier.Store();
            RequestResult computed = computeInto(store);
            InMemoryKvTier tier = new InMemoryKvTier(store).mode(InMemoryKvTier.Mode.HOLDING);
            try (var b = engine(tier, PATIENT)) {
                CompletableFuture<RequestResult> loading = b.processRequest(request(PROMPT));
                awaitLoading(b, 1);
                RequestResult other = b.processRequest(Request.builder().text("a short one")
                        .maxNewTokens(20).build()).join();
                assertTrue(other.generatedTokens() > 0, other.toString());
                assertFalse(loading.isDone(), "the loading request still waits for its tier");
                assertEquals(1, tier.heldLoads());

                tier.releaseHeld();
                RequestResult served = loading.join();
                assertEquals(computed.promptTokens() / BLOCK * BLOCK, served.cachedPromptTokens());
                assertArrayEquals(computed.generatedTokenIds(), served.generatedTokenIds());
                assertCacheEmptyOfRequests(b);
            }
        });
    }

    @Test
    void aTierAddedTwiceIsRefused() {
        InMemoryKvTier tier = new InMemoryKvTier(new InMemoryKvTier.Store());
        var builder = KVCacheConfig.builder().model(MODEL).addTier(tier).addTier(tier);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, builder::build);
        assertTrue(e.getMessage().contains("tier 1"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> KVCacheConfig.builder().model(MODEL)
                .tierLoadTimeout(Duration.ZERO).build());
    }

    @Test
    void theEngineClosesItsTiers() {
        InMemoryKvTier tier = new InMemoryKvTier(new InMemoryKvTier.Store());
        engine(tier, PATIENT).close();
        assertTrue(tier.isClosed());
    }

    /** Waits until {@code count} requests load from the tiers. */
    private static void awaitLoading(UltraAdaptiveKVCacheEngine engine, int count) throws InterruptedException {
        AtomicInteger loading = new AtomicInteger(-1);
        while (loading.get() != count) {
            engine.onScheduler(scheduler -> loading.set(scheduler.loadingCount())).join();
            Thread.sleep(5);
        }
    }
}
