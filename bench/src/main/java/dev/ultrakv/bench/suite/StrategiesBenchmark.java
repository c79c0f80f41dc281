package dev.ultrakv.bench.suite;

import dev.ultrakv.CacheStrategy;
import dev.ultrakv.EngineStats;
import dev.ultrakv.Request;

import java.util.ArrayList;
import java.util.List;

/**
 * The guide's strategy comparison, widened: LRU, LFU and ADAPTIVE side by side on each workload (the guide's
 * repeats, the simulator's shared system prompts, multi-turn chat and hot set with scans, and the Mooncake trace
 * excerpt), each strategy on a fresh engine with the same small cache, so that what it evicts matters.
 */
public final class StrategiesBenchmark {
    /** Name of the replayed trace in the workload list. */
    public static final String MOONCAKE = SuiteWorkloads.MOONCAKE;

    /**
     * The figures of one strategy on one workload.
     *
     * @param workload     the workload's name
     * @param strategy     the eviction strategy
     * @param requests     requests sent
     * @param skipped      requests of the workload left out because they would not fit the model's context
     * @param hitRate      requests whose whole prompt was cached ÷ requests
     * @param tokenHitRate cached prompt tokens ÷ prompt tokens
     * @param evictions    blocks evicted
     * @param latency      request latency
     */
    public record Row(String workload, CacheStrategy strategy, int requests, int skipped, double hitRate,
                      double tokenHitRate, long evictions, LatencyStats latency) {
    }

    /**
     * The figures of every strategy on every workload.
     *
     * @param cacheTokens the cache's size in positions, the same for all
     * @param rows        workload by workload, strategies in the order asked
     */
    public record Result(int cacheTokens, List<Row> rows) {
    }

    private StrategiesBenchmark() {
    }

    /** Runs the benchmark. */
    public static Result run(SuiteContext context) {
        int cacheTokens = context.settings().strategyCacheTokens();
        List<Row> rows = new ArrayList<>();
        for (String workload : context.settings().workloads()) {
            SuiteWorkloads.Prompts prompts = SuiteWorkloads.prompts(context, workload,
                    context.settings().strategyRequests());
            List<Request> requests = prompts.texts().stream().map(context::request).toList();
            for (CacheStrategy strategy : context.settings().strategies()) {
                context.progress().begin("strategies " + prompts.name() + " " + strategy, requests.size());
                LatencyRecorder latencies = new LatencyRecorder();
                EngineStats stats;
                try (var engine = context.engine(prompts.name() + " / " + strategy,
                        context.config(cacheTokens, strategy))) {
                    EngineRuns.sequential(engine, requests, latencies, context.progress());
                    stats = engine.getStats();
                }
                context.progress().end();
                rows.add(new Row(prompts.name(), strategy, requests.size(), prompts.skipped(), stats.hitRate(),
                        stats.tokenHitRate(), stats.evictions(), latencies.stats()));
            }
        }
        return new Result(cacheTokens, rows);
    }
}
