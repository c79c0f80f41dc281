package dev.ultrakv.bench.suite;

import java.time.OffsetDateTime;
import java.time.temporal.ChronoUnit;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.IntStream;

/**
 * Runs benchmarks of the suite one after another in one process and gathers their results with the machine and
 * the configuration. The first benchmark would otherwise time the JIT compiling the forward pass, so a few
 * untimed requests run first. With KV tiers, the results carry the tier figures of the engines each benchmark ran,
 * and of the warm-up's engine, whose blocks are in the tiers the benchmarks then read.
 */
public final class BenchmarkSuite {
    /** The key of the warm-up's engine among the tier figures. */
    public static final String WARM_UP = "warm-up";

    private BenchmarkSuite() {
    }

    /**
     * Runs {@code benchmarks} in order.
     *
     * @param quick whether the settings are {@code --quick}'s, recorded with the results
     */
    public static SuiteResults run(SuiteContext context, List<Benchmark> benchmarks, boolean quick) {
        OffsetDateTime started = OffsetDateTime.now().truncatedTo(ChronoUnit.SECONDS);
        MachineInfo machine = MachineInfo.current();
        long start = System.nanoTime();
        SuiteEngines engines = context.engines();
        Map<String, List<EngineTierFigures>> tiers = new LinkedHashMap<>();
        warmUp(context);
        List<EngineTierFigures> warmUpTiers = engines.drain();
        if (!warmUpTiers.isEmpty()) {
            tiers.put(WARM_UP, warmUpTiers);
        }
        Map<String, Object> results = new LinkedHashMap<>();
        for (Benchmark benchmark : benchmarks) {
            results.put(benchmark.key(), benchmark.run(context));
            tiers.put(benchmark.key(), engines.drain());
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        SuiteModel model = context.model();
        boolean tiered = engines.tiers().any();
        return new SuiteResults(started.toString(), seconds, quick, machine,
                new SuiteResults.ModelInfo(model.name(), model.source().description(), model.contextLength()),
                new SuiteResults.RunConfig(context.settings(), context.baseConfig().build().toString(),
                        engines.tiers().description()), results, tiered ? tiers : null);
    }

    private static void warmUp(SuiteContext context) {
        int count = context.settings().warmupRequests();
        if (count == 0) {
            return;
        }
        context.progress().begin(WARM_UP, count);
        try (var engine = context.engine(WARM_UP, context.baseConfig())) {
            EngineRuns.sequential(engine, IntStream.range(0, count).mapToObj(i -> context.request("Warm-up " + i))
                    .toList(), new LatencyRecorder(), context.progress());
        }
        context.progress().end();
    }
}
