package dev.ultrakv.server;

import dev.ultrakv.EngineStats;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.Timer;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.time.Duration;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import java.util.function.ToDoubleFunction;

/**
 * The server's metrics in a Micrometer Prometheus registry, every name with the {@code ultrakv_} prefix
 * (docs/server.md lists them). Two sources: what the server measures itself (requests by outcome, tokens,
 * time to first token, time per output token and end-to-end latency, measured from the moment the HTTP
 * request was read to the last byte handed to the client) and the engine's {@link EngineStats}, read once per
 * scrape so that one scrape is one consistent snapshot.
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
