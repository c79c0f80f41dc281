package dev.ultrakv.server;

import dev.ultrakv.EngineState;
import dev.ultrakv.EngineStats;
import dev.ultrakv.kvcache.tier.TierStats;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code /metrics} shows each KV tier's counters, tagged with its name, and what the engine promoted from the
 * tiers; an engine without tiers shows no per-tier series.
 */
class TierMetricsTest {
    private static EngineStats stats(List<TierStats> tiers, long promotedBlocks) {
        EngineStats.Percentiles none = EngineStats.Percentiles.NONE;
        return new EngineStats(new EngineStats.Requests(0, 0, 0, 0, 0, 0, 0, 0, 0),
                new EngineStats.Cache(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0), new EngineStats.Latency(none, none, none),
                new EngineStats.Tiers(tiers, 3, promotedBlocks, promotedBlocks * 16, 1, 2), EngineState.RUNNING,
                null);
    }

    private static TierStats tier(String name, long hits) {
        return new TierStats(name, hits, 4, 5, 6000, 7000, 8, 9, 10, Duration.ofMillis(2), Duration.ofMillis(30));
    }

    @Test
    void eachTierHasItsCountersTaggedWithItsName() {
        AtomicReference<EngineStats> now = new AtomicReference<>();
        ServerMetrics metrics = new ServerMetrics(now::get);
        assertFalse(metrics.scrape().contains("ultrakv_kv_tier_hits"), "no series while the engine loads");

        now.set(stats(List.of(tier("disk", 11), tier("redis", 12)), 20));
        String text = metrics.scrape();
        for (String line : List.of("ultrakv_kv_tier_hits_total{tier=\"disk\"} 11.0",
                "ultrakv_kv_tier_hits_total{tier=\"redis\"} 12.0", "ultrakv_kv_tier_misses_total{tier=\"disk\"} 4.0",
                "ultrakv_kv_tier_written_bytes_total{tier=\"redis\"} 6000.0",
                "ultrakv_kv_tier_read_bytes_total{tier=\"disk\"} 7000.0",
                "ultrakv_kv_tier_errors_total{tier=\"disk\"} 9.0", "ultrakv_kv_tier_corrupt_total{tier=\"redis\"} 10.0",
                "ultrakv_kv_tier_load_latency_seconds{quantile=\"0.99\",tier=\"disk\"} 0.03",
                "ultrakv_kv_tier_promoted_blocks_total 20.0", "ultrakv_kv_tier_promoted_tokens_total 320.0",
                "ultrakv_kv_tier_recomputed_loads_total 1.0")) {
            assertTrue(text.contains(line), line + " in\n" + text);
        }

        now.set(stats(List.of(tier("disk", 40), tier("redis", 12)), 21));
        assertTrue(metrics.scrape().contains("ultrakv_kv_tier_hits_total{tier=\"disk\"} 40.0"), "read per scrape");
    }

    @Test
    void anEngineWithoutTiersHasNoPerTierSeries() {
        ServerMetrics metrics = new ServerMetrics(() -> stats(List.of(), 0));
        String text = metrics.scrape();
        assertFalse(text.contains("ultrakv_kv_tier_hits"), text);
        assertTrue(text.contains("ultrakv_kv_tier_promoted_blocks_total 0.0"), text);
    }
}
