package dev.ultrakv.bench.suite;

import dev.ultrakv.EngineState;
import dev.ultrakv.KVCacheConfig;
import dev.ultrakv.UltraAdaptiveKVCacheEngine;
import dev.ultrakv.kvcache.tier.KvTier;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Starts the engines of a suite run, each with a fresh set of the run's KV tiers, and remembers the engines
 * started since the last {@link #drain()}, so that each benchmark's result can carry the tier figures of its own
 * engines.
 *
 * <h2>Notes</h2>
 * <b>One engine at a time.</b> A disk directory can be open in one tier at a time, and the suite's benchmarks run
 * their engines one after another. So before it opens tiers for a new engine, {@link #start} checks that every
 * engine it started before is closed, and refuses otherwise: a benchmark that ran two engines at once would
 * otherwise fail inside the disk tier with a less telling message.
 * <p>
 * <b>Figures after close.</b> The figures are read when the benchmark has ended and its engines are closed:
 * closing lets the disk tier finish its queued writes, so the bytes written are final. {@link
 * UltraAdaptiveKVCacheEngine#getStats()} answers after close.
 */
public final class SuiteEngines {
    private final SuiteTiers tiers;
    /** Engines started since the last drain, with their labels; guarded by {@code this}. */
    private final List<Started> started = new ArrayList<>();
    /** The last engine started, drained or not, to check that it is closed; guarded by {@code this}. */
    private Started last;

    private record Started(String label, UltraAdaptiveKVCacheEngine engine) {
    }

    /** Engines with {@code tiers} below their memory ({@link SuiteTiers#NONE} for none). */
    public SuiteEngines(SuiteTiers tiers) {
        this.tiers = Objects.requireNonNull(tiers, "tiers");
    }

    /** The tiers every engine gets. */
    public SuiteTiers tiers() {
        return tiers;
    }

    /**
     * Adds a fresh set of the tiers to {@code builder}, builds the configuration and starts an engine on it, which
     * owns the tiers from then on. The builder is spent: build nothing else from it. Closes the tiers if the
     * configuration or the engine fails.
     *
     * @param label names the engine in the report, e.g. {@code concurrency 50}
     * @throws IllegalStateException    if tiers are configured and an engine started before is still open
     * @throws IllegalArgumentException if the configuration is invalid or a tier cannot be opened
     */
    public synchronized UltraAdaptiveKVCacheEngine start(String label, KVCacheConfig.Builder builder) {
        Objects.requireNonNull(label, "label");
        if (!tiers.any()) {
            return new UltraAdaptiveKVCacheEngine(builder.build());
        }
        if (last != null && last.engine().getStats().state() == EngineState.RUNNING) {
            throw new IllegalStateException("cannot start engine '" + label + "' while engine '" + last.label()
                    + "' is still open: its KV tiers " + tiers.description() + " can be open in one engine at a time");
        }
        List<KvTier> opened = tiers.open();
        KVCacheConfig config;
        try {
            opened.forEach(builder::addTier);
            config = builder.build();
        } catch (RuntimeException e) {
            opened.forEach(KvTier::close);
            throw e;
        }
        UltraAdaptiveKVCacheEngine engine = new UltraAdaptiveKVCacheEngine(config); // closes the tiers if it fails
        last = new Started(label, engine);
        started.add(last);
        return engine;
    }

    /**
     * The tier figures of the engines started since the last drain, in the order started, and forgets them; empty
     * without tiers. Call it when those engines are closed.
     */
    public synchronized List<EngineTierFigures> drain() {
        List<EngineTierFigures> figures = started.stream()
                .map(s -> EngineTierFigures.of(s.label(), s.engine().getStats().tiers())).toList();
        started.clear();
        return figures;
    }
}
