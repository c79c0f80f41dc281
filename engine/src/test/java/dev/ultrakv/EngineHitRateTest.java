package dev.ultrakv;

import dev.ultrakv.scheduler.SchedulerConfig;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The seed's hit-rate workload through the engine: of 10,000 requests a fraction {@code r} repeat an earlier
 * prompt exactly and the rest are new; with a cache that holds every prompt the request hit rate is {@code r},
 * and with a small one it falls and blocks are evicted.
 *
 * <h2>Notes</h2>
 * Prompts are {@code "Q"} and a zero-padded five-digit number, so that they all have the same token count: a new
 * prompt can then never be a prefix of a cached sequence (which would make it a hit). One new token each keeps
 * the 10,000 requests within seconds on the embedded model.
 */
class EngineHitRateTest {
    private static final int REQUESTS = 10_000;
    /** Allowed distance of the measured hit rate from {@code r}: half a percentage point. */
    private static final double TOLERANCE = 0.005;
    private static final int BLOCK = 8;
    /**
     * Blocks beyond the cached prompts for the running requests: one each (a prompt and its one new token fit a
     * block; a full hit recomputes its last position in a private block, so even a hit needs one), for as many
     * as may run at once, and one the engine keeps spare.
     */
    private static final int RUNNING_REQUEST_BLOCKS = SchedulerConfig.DEFAULT_MAX_RUNNING_SEQUENCES + 1;
    /** Positions of a cache that holds every distinct prompt (one block each) when at least half are repeats. */
    private static final int LARGE_CACHE_TOKENS = (REQUESTS / 2 + RUNNING_REQUEST_BLOCKS) * BLOCK;
    /** Positions of a cache that holds a small fraction of them. */
    private static final int SMALL_CACHE_TOKENS = 256 * BLOCK;

    /** Request texts: exactly {@code round(r * n)} repeat an earlier text, chosen uniformly; seeded. */
    static List<String> repeats(int n, double r, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int repeatCount = (int) Math.round(r * n);
        boolean[] repeat = new boolean[n];
        for (int placed = 0; placed < repeatCount; ) {
            int at = 1 + random.nextInt(n - 1);
            if (!repeat[at]) {
                repeat[at] = true;
                placed++;
            }
        }
        List<String> distinct = new ArrayList<>();
        List<String> texts = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            if (repeat[i]) {
                texts.add(distinct.get(random.nextInt(distinct.size())));
            } else {
                String text = "Q%05d".formatted(distinct.size());
                distinct.add(text);
                texts.add(text);
            }
        }
        return texts;
    }

    private static EngineStats serve(List<String> texts, int cacheTokens) {
        KVCacheConfig config = KVCacheConfig.builder().maxTokens(cacheTokens).blockSize(BLOCK)
                .cacheStrategy(CacheStrategy.ADAPTIVE).build();
        try (var engine = new UltraAdaptiveKVCacheEngine(config)) {
            List<CompletableFuture<RequestResult>> futures = new ArrayList<>(texts.size());
            for (String text : texts) {
                futures.add(engine.processRequest(Request.builder().text(text).maxNewTokens(1).build()));
            }
            futures.forEach(CompletableFuture::join);
            engine.onLoop(cache -> cache.checkInvariants()).join();
            EngineStats stats = engine.getStats();
            assertEquals(texts.size(), stats.totalRequests());
            assertEquals(stats.totalRequests(), stats.cacheHits() + stats.cacheMisses());
            return stats;
        }
    }

    @Test
    void promptsHaveOneTokenCountSoNoNewPromptIsAPrefixOfAnother() {
        try (var model = ModelSource.embedded().load()) {
            int length = model.tokenizer().encode("Q00000", true).length;
            for (String text : List.of("Q00001", "Q12345", "Q99999", "Q07070")) {
                assertEquals(length, model.tokenizer().encode(text, true).length, text);
            }
            assertTrue(length <= BLOCK, "a prompt fits one block");
        }
    }

    @Test
    void halfRepeatsHitHalfTheTimeWithACacheThatHoldsThemAll() {
        EngineStats stats = serve(repeats(REQUESTS, 0.5, 1), LARGE_CACHE_TOKENS);
        assertEquals(0.5, stats.hitRate(), TOLERANCE);
        assertEquals(0, stats.evictions());
    }

    @Test
    void sixtyPercentRepeatsHitSixtyPercentOfTheTimeWithACacheThatHoldsThemAll() {
        EngineStats stats = serve(repeats(REQUESTS, 0.6, 2), LARGE_CACHE_TOKENS);
        assertEquals(0.6, stats.hitRate(), TOLERANCE);
        assertEquals(0, stats.evictions());
    }

    @Test
    void aCacheTooSmallForTheWorkloadHitsLessAndEvicts() {
        EngineStats stats = serve(repeats(REQUESTS, 0.5, 1), SMALL_CACHE_TOKENS);
        assertTrue(stats.hitRate() < 0.5 - 10 * TOLERANCE, "hit rate " + stats.hitRate());
        assertTrue(stats.evictions() > 0);
    }
}
