package dev.ultrakv.server;

import dev.ultrakv.EngineStats;
import dev.ultrakv.kvcache.tier.TierStats;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * The server's metrics in a Micrometer Prometheus registry, every name with the {@code ultrakv_} prefix
 * (docs/server.md lists them). Two sources: what the server measures itself (requests by outcome, tokens,
 * time to first token, time per output token and end-to-end latency, measured from the moment the HTTP
 * request was read to the last byte handed to the client) and the engine's {@link EngineStats}, read once per
 * scrape so that one scrape is one consistent snapshot. The KV tiers' meters ({@code ultrakv_kv_tier_*}, tagged
 * with the tier's name) are registered at the first scrape that sees the tiers, since the engine loads after the
 * server starts.
 */
final class ServerMetrics {
    /** Bucket bounds of the time to first token: from a cached prompt on a small model to a long queue. */
    private static final Duration[] TTFT_BUCKETS = durations(1, 2, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000,
            10_000, 30_000);
    /** Bucket bounds of the time per output token: a small model decodes in well under a millisecond. */
    private static final Duration[] TPOT_BUCKETS = durations(0.25, 0.5, 1, 2, 5, 10, 25, 50, 100, 250, 500, 1000);
    /** Bucket bounds of the whole request. */
    private static final Duration[] E2E_BUCKETS = durations(10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10_000,
            30_000, 60_000, 120_000);

    private final PrometheusMeterRegistry registry = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
    private final Supplier<EngineStats> engineStats;
    private final AtomicInteger inFlight = new AtomicInteger();
    private final Timer timeToFirstToken;
    private final Timer timePerOutputToken;
    private final Timer endToEnd;
    private final Counter promptTokens;
    private final Counter generatedTokens;
    private volatile EngineStats snapshot;
    /** Tiers whose meters are registered, by position; written under the lock of {@link #registerTiers}. */
    private volatile int registeredTiers;

    /** Metrics over the engine whose stats {@code engineStats} reads (null while it loads). */
    ServerMetrics(Supplier<EngineStats> engineStats) {
        this.engineStats = Objects.requireNonNull(engineStats, "engineStats");
        timeToFirstToken = Timer.builder("ultrakv.time.to.first.token")
                .description("From the request read to its first token, measured in the server")
                .serviceLevelObjectives(TTFT_BUCKETS).register(registry);
        timePerOutputToken = Timer.builder("ultrakv.time.per.output.token")
                .description("Mean time between a request's tokens after the first, measured in the server")
                .serviceLevelObjectives(TPOT_BUCKETS).register(registry);
        endToEnd = Timer.builder("ultrakv.e2e.request.latency")
                .description("From the request read to its last token or answer, measured in the server")
                .serviceLevelObjectives(E2E_BUCKETS).register(registry);
        promptTokens = Counter.builder("ultrakv.prompt.tokens").description("Prompt tokens of served requests")
                .register(registry);
        generatedTokens = Counter.builder("ultrakv.generation.tokens")
                .description("Tokens generated for served requests").register(registry);
        Gauge.builder("ultrakv.server.requests.in.flight", inFlight, AtomicInteger::get)
                .description("Generation requests the server is answering").register(registry);
        gauge("ultrakv.queue.depth", "Requests waiting for admission in the scheduler", EngineStats::waitingRequests);
        gauge("ultrakv.running.sequences", "Requests running in the engine", EngineStats::runningSequences);
        gauge("ultrakv.kv.blocks.in.use", "KV blocks held by the cache or a running request",
                EngineStats::blocksUsed);
        gauge("ultrakv.kv.blocks.capacity", "KV blocks in all", s -> s.blocksUsed() + s.blocksFree());
        gauge("ultrakv.kv.blocks.pinned", "Cached KV blocks pinned by running requests", EngineStats::pinnedBlocks);
        gauge("ultrakv.kv.bytes.in.use", "Bytes of the KV blocks in use", EngineStats::kvBytesInUse);
        gauge("ultrakv.kv.bytes.capacity", "Bytes of all KV blocks", EngineStats::kvBytesCapacity);
        counter("ultrakv.prefix.cache.hit.tokens", "Prompt tokens found in the prefix cache",
                EngineStats::cachedPromptTokens);
        counter("ultrakv.prefix.cache.miss.tokens", "Prompt tokens computed (not found in the prefix cache)",
                s -> s.promptTokens() - s.cachedPromptTokens());
        counter("ultrakv.kv.evictions", "KV blocks evicted from the cache to make room", EngineStats::evictions);
        counter("ultrakv.preemptions", "Times a running request was preempted", EngineStats::preemptions);
        engineOutcome("served", EngineStats::totalRequests);
        engineOutcome("failed", EngineStats::failedRequests);
        engineOutcome("cancelled", EngineStats::cancelledRequests);
        engineOutcome("expired", EngineStats::expiredRequests);
        engineOutcome("rejected", EngineStats::rejectedRequests);
        counter("ultrakv.kv.tier.loads", "Lookups of the KV tiers for blocks after a memory-resident prefix",
                s -> s.tiers().loads());
        counter("ultrakv.kv.tier.promoted.blocks", "KV blocks brought back from the tiers into memory",
                s -> s.tiers().promotedBlocks());
        counter("ultrakv.kv.tier.promoted.tokens", "Prompt tokens of the KV blocks brought back from the tiers",
                s -> s.tiers().promotedTokens());
        counter("ultrakv.kv.tier.recomputed.loads", "Tier loads that fell back to recomputing blocks found "
                + "(timed out, refused, or no room)", s -> s.tiers().recomputedLoads());
        counter("ultrakv.kv.tier.refused.records", "Tier records the engine's own check refused",
                s -> s.tiers().refusedRecords());
    }

    /** Registers the meters of the tiers {@code stats} shows that have none yet (tiers never go away). */
    private synchronized void registerTiers(EngineStats stats) {
        List<TierStats> tiers = stats.tiers().tiers();
        Set<String> names = new HashSet<>();
        for (int i = 0; i < tiers.size(); i++) {
            // Two tiers of one kind (two disks) stay apart: the second is named with its position.
            String name = names.add(tiers.get(i).tier()) ? tiers.get(i).tier() : tiers.get(i).tier() + "-" + i;
            if (i >= registeredTiers) {
                registerTier(i, name);
            }
        }
        registeredTiers = Math.max(registeredTiers, tiers.size());
    }

    private void registerTier(int position, String name) {
        tierCounter("ultrakv.kv.tier.hits", "KV blocks found in the tier", position, name, TierStats::hits);
        tierCounter("ultrakv.kv.tier.misses", "KV blocks asked of the tier and not found", position, name,
                TierStats::misses);
        tierCounter("ultrakv.kv.tier.blocks.written", "KV blocks the tier stored", position, name,
                TierStats::blocksWritten);
        tierCounter("ultrakv.kv.tier.written.bytes", "Record bytes the tier stored", position, name,
                TierStats::bytesWritten);
        tierCounter("ultrakv.kv.tier.read.bytes", "Record bytes the tier loaded", position, name,
                TierStats::bytesRead);
        tierCounter("ultrakv.kv.tier.dropped.writes", "Writes the tier dropped (queue full or tier down)", position,
                name, TierStats::droppedWrites);
        tierCounter("ultrakv.kv.tier.errors", "Failed tier operations (I/O errors, timeouts, connections)",
                position, name, TierStats::errors);
        tierCounter("ultrakv.kv.tier.corrupt", "Tier records that failed their check and read as misses",
                position, name, TierStats::corrupt);
        for (double quantile : new double[] {0.5, 0.99}) {
            Gauge.builder("ultrakv.kv.tier.load.latency.seconds", this, m -> m.readTier(position, t -> seconds(
                    quantile == 0.5 ? t.loadP50() : t.loadP99()))).tag("tier", name)
                    .tag("quantile", Double.toString(quantile))
                    .description("Time of one batched load from the tier, by quantile").register(registry);
        }
    }

    private void tierCounter(String meter, String description, int position, String name,
                             ToDoubleFunction<TierStats> value) {
        FunctionCounter.builder(meter, this, m -> m.readTier(position, value)).tag("tier", name)
                .description(description).register(registry);
    }

    private double readTier(int position, ToDoubleFunction<TierStats> value) {
        EngineStats stats = snapshot;
        if (stats == null || position >= stats.tiers().tiers().size()) {
            return 0;
        }
        return value.applyAsDouble(stats.tiers().tiers().get(position));
    }

    private static double seconds(Duration d) {
        return d.toNanos() / 1e9;
    }

    private static Duration[] durations(double... millis) {
        Duration[] result = new Duration[millis.length];
        for (int i = 0; i < millis.length; i++) {
            result[i] = Duration.ofNanos((long) (millis[i] * 1e6));
        }
        return result;
    }

    private void gauge(String name, String description, ToDoubleFunction<EngineStats> value) {
        Gauge.builder(name, this, m -> m.read(value)).description(description).register(registry);
    }

    private void counter(String name, String description, ToDoubleFunction<EngineStats> value) {
        FunctionCounter.builder(name, this, m -> m.read(value)).description(description).register(registry);
    }

    private void engineOutcome(String outcome, ToDoubleFunction<EngineStats> value) {
        FunctionCounter.builder("ultrakv.engine.requests", this, m -> m.read(value)).tag("outcome", outcome)
                .description("Requests that ended in the engine, by how they ended").register(registry);
    }

    private double read(ToDoubleFunction<EngineStats> value) {
        EngineStats stats = snapshot;
        return stats == null ? 0 : value.applyAsDouble(stats);
    }

    /** The engine's stats now, also kept as the snapshot the gauges read; null while the engine loads. */
    EngineStats refresh() {
        EngineStats stats = engineStats.get();
        snapshot = stats;
        if (stats != null && stats.tiers().tiers().size() > registeredTiers) {
            registerTiers(stats);
        }
        return stats;
    }

    /** The Prometheus text of every metric, the engine's read now. */
    String scrape() {
        refresh();
        return registry.scrape();
    }

    /** A generation request began. */
    void started() {
        inFlight.incrementAndGet();
    }

    /** A generation request ended with {@code outcome} (ok, client_error, rejected, cancelled, ...). */
    void ended(String endpoint, String outcome) {
        inFlight.decrementAndGet();
        registry.counter("ultrakv.requests", "endpoint", endpoint, "outcome", outcome).increment();
    }

    /** Generation requests being answered. */
    int inFlight() {
        return inFlight.get();
    }

    /**
     * A served request's tokens and times, in nanoseconds from the request read.
     *
     * @param firstToken when its first token came, or a negative value when none came
     */
    void served(int prompt, int generated, long firstToken, long lastToken, long end) {
        promptTokens.increment(prompt);
        generatedTokens.increment(generated);
        if (firstToken >= 0) {
            timeToFirstToken.record(firstToken, TimeUnit.NANOSECONDS);
            if (generated > 1) {
                timePerOutputToken.record((lastToken - firstToken) / (generated - 1), TimeUnit.NANOSECONDS);
            }
        }
        endToEnd.record(end, TimeUnit.NANOSECONDS);
    }

    /** Tokens generated for served requests so far (the page derives tokens/s from it). */
    long generatedTokens() {
        return (long) generatedTokens.count();
    }
}
