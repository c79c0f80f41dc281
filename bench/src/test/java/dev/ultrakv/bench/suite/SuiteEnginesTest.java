package dev.ultrakv.bench.suite;

import dev.ultrakv.KVCacheConfig;
import dev.ultrakv.Request;
import dev.ultrakv.UltraAdaptiveKVCacheEngine;
import dev.ultrakv.kvcache.tier.DiskKvTier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SuiteEnginesTest {
    private static final long DISK_BYTES = 16L << 20;
    /** Long enough for several full blocks of 16 tokens, so that blocks reach the disk. */
    private static final String PROMPT = "Once upon a time there was a little girl who lived in a village near the"
            + " forest. Whenever she went out, the little girl wore a red riding cloak, so everyone in the village"
            + " called her Little Red Riding Hood.";

    private final SuiteModel model = SuiteModel.embedded();

    private SuiteTiers disk(Path directory) {
        return new SuiteTiers(List.of("disk " + directory), () -> List.of(DiskKvTier.open(directory, DISK_BYTES)));
    }

    private KVCacheConfig.Builder config() {
        return KVCacheConfig.builder().model(model.source()).maxTokens(1024);
    }

    private static void serve(UltraAdaptiveKVCacheEngine engine) {
        EngineRuns.join(engine, Request.builder().text(PROMPT).maxNewTokens(2).build());
    }

    @Test
    void eachEngineGetsAFreshDiskTierAndALaterEngineIsServedFromWhatAnEarlierOneWrote(@TempDir Path directory) {
        SuiteEngines engines = new SuiteEngines(disk(directory));
        try (var first = engines.start("first", config())) {
            serve(first);
        }
        try (var second = engines.start("second", config())) {
            serve(second);
        }
        List<EngineTierFigures> figures = engines.drain();
        assertEquals(List.of("first", "second"), figures.stream().map(EngineTierFigures::engine).toList());
        TierFigures wrote = figures.get(0).tiers().getFirst();
        TierFigures read = figures.get(1).tiers().getFirst();
        assertEquals("disk", wrote.tier());
        assertTrue(wrote.blocksWritten() > 0 && wrote.bytesWritten() > 0, wrote.toString());
        assertTrue(read.hits() > 0 && read.bytesRead() > 0, read.toString());
        assertTrue(figures.get(1).promotedBlocks() > 0, figures.get(1).toString());
        assertEquals(List.of(), engines.drain(), "drained engines are forgotten");
        DiskKvTier.open(directory, DISK_BYTES).close(); // both engines released the directory
    }

    @Test
    void anEngineIsRefusedWhileTheOneBeforeStillHoldsTheTiers(@TempDir Path directory) {
        SuiteEngines engines = new SuiteEngines(disk(directory));
        var first = engines.start("first", config());
        try {
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> engines.start("second", config()));
            assertTrue(e.getMessage().contains("'second'") && e.getMessage().contains("'first' is still open"),
                    e.getMessage());
        } finally {
            first.close();
        }
        engines.start("third", config()).close();
        assertEquals(List.of("first", "third"), engines.drain().stream().map(EngineTierFigures::engine).toList());
    }

    @Test
    void withoutTiersEnginesMayRunAtOnceAndReportNothing() {
        SuiteEngines engines = new SuiteEngines(SuiteTiers.NONE);
        try (var a = engines.start("a", config()); var b = engines.start("b", config())) {
            serve(a);
            serve(b);
        }
        assertEquals(List.of(), engines.drain());
    }

    @Test
    void anOpenerThatBreaksItsDescriptionIsRefusedAndItsTiersClosed(@TempDir Path directory) {
        SuiteTiers twoDescribed = new SuiteTiers(List.of("disk", "redis"),
                () -> List.of(DiskKvTier.open(directory, DISK_BYTES)));
        SuiteEngines engines = new SuiteEngines(twoDescribed);
        assertThrows(IllegalStateException.class, () -> engines.start("engine", config()));
        DiskKvTier.open(directory, DISK_BYTES).close(); // the tier it opened was closed
    }
}
