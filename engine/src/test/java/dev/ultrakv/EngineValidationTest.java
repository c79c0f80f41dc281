package dev.ultrakv;

import dev.ultrakv.model.StopReason;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.function.Executable;

import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Bad configurations and bad requests are refused, naming the value; the engine goes on serving. */
class EngineValidationTest {

    private static void assertRefused(Executable build, String named) {
        var e = assertThrows(IllegalArgumentException.class, build);
        assertTrue(e.getMessage().contains(named), e.getMessage());
    }

    @Test
    void badConfigurationValuesAreRefusedByName() {
        assertRefused(() -> KVCacheConfig.builder().maxTokens(0).build(), "maxTokens must be positive: 0");
        assertRefused(() -> KVCacheConfig.builder().maxTokens(-5).build(), "-5");
        assertRefused(() -> KVCacheConfig.builder().blockSize(12).build(), "blockSize must be a power of two: 12");
        assertRefused(() -> KVCacheConfig.builder().blockSize(0).build(), "blockSize");
        assertRefused(() -> KVCacheConfig.builder().compressionRatio(0).build(), "compressionRatio");
        assertRefused(() -> KVCacheConfig.builder().compressionRatio(1.5).build(), "1.5");
        assertRefused(() -> KVCacheConfig.builder().compressionRatio(Double.NaN).build(), "NaN");
        assertRefused(() -> KVCacheConfig.builder().quantizationBits(3).build(),
                "quantizationBits must be 2, 4 or 8: 3");
        KVCacheConfig ok = KVCacheConfig.builder().compressionRatio(1).quantizationBits(2).build();
        assertEquals(1, ok.compressionRatio());
        assertEquals(2, ok.quantizationBits());
    }

    @Test
    void aByteBudgetIsCheckedAndMustHoldABlock() {
        assertRefused(() -> KVCacheConfig.builder().maxMemoryBytes(-1).build(), "maxMemoryBytes must be >= 0");
        var tooSmall = assertThrows(IllegalArgumentException.class, () -> new UltraAdaptiveKVCacheEngine(
                KVCacheConfig.builder().maxMemoryBytes(100).build()));
        assertTrue(tooSmall.getMessage().contains("holds no block"), tooSmall.getMessage());
    }

    @Test
    void priorityValuesOutsideZeroToFourAreRefusedByName() {
        assertEquals(Priority.CRITICAL, Priority.of(0));
        assertEquals(Priority.BACKGROUND, Priority.of(4));
        assertRefused(() -> Priority.of(5), "unknown priority 5");
        assertRefused(() -> Priority.of(-1), "unknown priority -1");
    }

    private static void assertFailsNaming(CompletableFuture<?> future, String named) {
        var e = assertThrows(CompletionException.class, future::join);
        assertInstanceOf(IllegalArgumentException.class, e.getCause());
        assertTrue(e.getCause().getMessage().contains(named), e.getCause().getMessage());
    }

    @Test
    void badRequestsFailTheirFutureNamingTheValueAndTheEngineServesTheNextOne() {
        var config = KVCacheConfig.builder().maxTokens(256).blockSize(16).build();
        try (var engine = new UltraAdaptiveKVCacheEngine(config)) {
            String longText = "a b c d e f g h i j ".repeat(60);
            List<Object[]> cases = List.of(
                    new Object[] {Request.of("", 2), "request text is empty"},
                    new Object[] {Request.of("Hello", 7), "unknown priority 7"},
                    new Object[] {Request.of("Hello", -1), "unknown priority -1"},
                    new Object[] {Request.builder().text("Hello").maxNewTokens(0).build(), "maxNewTokens"},
                    new Object[] {Request.builder().text("Hello").temperature(-1).build(), "temperature"},
                    new Object[] {Request.builder().text("Hello").timeout(java.time.Duration.ZERO).build(),
                            "timeout must be positive: PT0S"},
                    new Object[] {Request.of(longText, 2), "context length 512"},
                    new Object[] {Request.of("a b c d e f g h i j ".repeat(20), 2), "whole cache holds (256"},
                    new Object[] {Request.builder().text("Hello").maxNewTokens(300).build(), "whole cache"});
            for (Object[] c : cases) {
                assertFailsNaming(engine.processRequest((Request) c[0]), (String) c[1]);
                RequestResult good = engine.processRequest(Request.builder().text("Hello").maxNewTokens(3)
                        .build()).join();
                assertTrue(good.generatedTokens() > 0 || good.stopReason() == StopReason.END_OF_SEQUENCE);
            }
            assertEquals(cases.size(), engine.getStats().failedRequests());
            assertEquals(cases.size(), engine.getStats().totalRequests());
            engine.onLoop(cache -> cache.checkInvariants()).join();
        }
    }

    @Test
    void aBatchWithABadRequestFailsWithItsErrorAndServesTheOthers() {
        try (var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().build())) {
            assertRefused(() -> engine.processBatchOptimized(List.of(Request.of("Hi", 2)), 0), "batchSize");
            var batch = engine.processBatchOptimized(List.of(Request.of("Hi", 2), Request.of("", 2),
                    Request.of("Ho", 2)), 2);
            assertFailsNaming(batch, "request text is empty");
            assertEquals(2, engine.getStats().totalRequests());
            assertEquals(1, engine.getStats().failedRequests());
        }
    }
}
