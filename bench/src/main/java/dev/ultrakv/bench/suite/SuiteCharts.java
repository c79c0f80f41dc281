package dev.ultrakv.bench.suite;

import dev.ultrakv.kvcache.policy.PolicyKind;
import dev.ultrakv.sim.Simulator;
import dev.ultrakv.sim.Workload;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.style.Styler;
import org.knowm.xchart.style.markers.SeriesMarkers;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The suite's charts as PNG images (XChart, drawn off-screen): the guide's 2×2 panel of the configurations,
 * throughput and latency against concurrency, hit rate per strategy and workload (and the simulator's token hit
 * rate against cache size on the same workloads), and the latency histogram.
 * Each is drawn only when its benchmark ran.
 */
final class SuiteCharts {
    /** Charts with a category per workload: wide enough that the workloads' names do not overlap. */
    static final int WIDE = 1150;
    /** The simulator's chart of the strategies' workloads, beside the engine's. */
    static final String SIMULATED_STRATEGIES = "simulated-token-hit-rate.png";
    /** Percent per unit of a rate. */
    private static final double PERCENT = 100;

    private SuiteCharts() {
    }

    /** The charts of {@code results} by file name, as PNG bytes, in the order a report shows them. */
    static Map<String, byte[]> draw(SuiteResults results) {
        Map<String, byte[]> charts = new LinkedHashMap<>();
        if (results.benchmarks().get(Benchmark.CONFIGURATIONS.key()) instanceof ConfigurationsBenchmark.Result c) {
            charts.put("configurations.png", configurations(c));
        }
        if (results.benchmarks().get(Benchmark.THROUGHPUT.key()) instanceof ThroughputBenchmark.Result t) {
            charts.put("throughput-vs-concurrency.png", throughput(t));
            charts.put("latency-vs-concurrency.png", latencyUnderLoad(t));
        }
        if (results.benchmarks().get(Benchmark.STRATEGIES.key()) instanceof StrategiesBenchmark.Result s) {
            charts.put("hit-rate-by-strategy.png", strategies(s));
            charts.put(SIMULATED_STRATEGIES, simulated(results.config().settings()));
        }
        if (results.benchmarks().get(Benchmark.LATENCY.key()) instanceof LatencyBenchmark.Result l) {
            charts.put("latency-histogram.png", histogram(l));
        }
        return charts;
    }

    /** The guide's panel: P50 and P95 latency, memory and throughput per configuration. */
    static byte[] configurations(ConfigurationsBenchmark.Result result) {
        List<String> names = new ArrayList<>();
        List<Number> p50 = new ArrayList<>();
        List<Number> p95 = new ArrayList<>();
        List<Number> memory = new ArrayList<>();
        List<Number> throughput = new ArrayList<>();
        for (ConfigurationsBenchmark.Row row : result.rows()) {
            names.add(row.ok() ? row.name() : row.name() + " (failed)");
            p50.add(row.latency().p50());
            p95.add(row.latency().p95());
            memory.add(row.memory() == null ? 0 : row.memory().finalRssMb());
            throughput.add(row.requestsPerSecond());
        }
        List<CategoryChart> panels = List.of(bars("P50 latency", "ms", names, p50),
                bars("P95 latency", "ms", names, p95), bars("Memory (resident set after the run)", "MB", names,
                        memory), bars("Throughput", "requests/s", names, throughput));
        return ChartStyle.png(panels, 2, 2);
    }

    /** Requests per second against concurrency. */
    static byte[] throughput(ThroughputBenchmark.Result result) {
        XYChart chart = lines("Throughput against concurrency", "requests in flight (log scale)", "requests/s");
        double[] x = result.levels().stream().mapToDouble(ThroughputBenchmark.Level::concurrency).toArray();
        chart.addSeries("requests/s", x, result.levels().stream()
                .mapToDouble(ThroughputBenchmark.Level::requestsPerSecond).toArray());
        chart.getStyler().setLegendVisible(false);
        return ChartStyle.png(List.of(chart), 1, 1);
    }

    /** Each request's own latency percentiles against concurrency. */
    static byte[] latencyUnderLoad(ThroughputBenchmark.Result result) {
        XYChart chart = lines("Request latency against concurrency", "requests in flight (log scale)",
                "latency (ms, log scale)");
        chart.getStyler().setYAxisLogarithmic(true);
        double[] x = result.levels().stream().mapToDouble(ThroughputBenchmark.Level::concurrency).toArray();
        chart.addSeries("p50", x, result.levels().stream().mapToDouble(l -> ChartStyle.positive(l.latency().p50())).toArray());
        chart.addSeries("p95", x, result.levels().stream().mapToDouble(l -> ChartStyle.positive(l.latency().p95())).toArray());
        chart.addSeries("p99", x, result.levels().stream().mapToDouble(l -> ChartStyle.positive(l.latency().p99())).toArray());
        return ChartStyle.png(List.of(chart), 1, 1);
    }

    /** Request and token hit rate per workload, one bar per strategy. */
    static byte[] strategies(StrategiesBenchmark.Result result) {
        CategoryChart requests = grouped("Request hit rate by strategy", "hit rate (%)");
        CategoryChart tokens = grouped("Token hit rate by strategy", "cached prompt tokens (%)");
        Map<String, List<StrategiesBenchmark.Row>> byStrategy = new LinkedHashMap<>();
        for (StrategiesBenchmark.Row row : result.rows()) {
            byStrategy.computeIfAbsent(row.strategy().name(), k -> new ArrayList<>()).add(row);
        }
        byStrategy.forEach((strategy, rows) -> {
            List<String> workloads = rows.stream().map(StrategiesBenchmark.Row::workload).toList();
            requests.addSeries(strategy, workloads, rows.stream().map(r -> (Number) (r.hitRate() * PERCENT))
                    .toList());
            tokens.addSeries(strategy, workloads, rows.stream().map(r -> (Number) (r.tokenHitRate() * PERCENT))
                    .toList());
        });
        return ChartStyle.png(List.of(requests, tokens), 2, 1);
    }

    /**
     * The same workloads replayed by the policy simulator (no model) with the offline optimum, at 1-20 % of each
     * working set: the ordering the engine's bars should show ({@code ultrakv simulate}'s chart).
     */
    static byte[] simulated(SuiteSettings settings) {
        List<Workload> workloads = new ArrayList<>();
        for (String name : settings.workloads()) {
            workloads.add(Simulator.builtIn(name, settings.strategyRequests(), settings.seed()));
        }
        return SimulationChart.png(Simulator.run(workloads, List.of(PolicyKind.values()),
                Simulator.DEFAULT_CAPACITIES));
    }

    /** Latencies of the latency benchmark in equal bins. */
    static byte[] histogram(LatencyBenchmark.Result result) {
        XYChart chart = lines("Latency histogram (" + result.iterations() + " requests one after another)",
                "latency (ms)", "requests");
        chart.getStyler().setXAxisLogarithmic(false);
        chart.getStyler().setLegendVisible(false);
        double[] x = result.histogram().binStartMs();
        XYSeries series = chart.addSeries("requests", x.length == 0 ? new double[] {0} : x,
                x.length == 0 ? new double[] {0} : result.histogram().counts());
        series.setXYSeriesRenderStyle(XYSeries.XYSeriesRenderStyle.StepArea);
        series.setMarker(SeriesMarkers.NONE);
        chart.getStyler().setXAxisDecimalPattern("#,##0.#");
        chart.getStyler().setYAxisDecimalPattern("#,##0");
        return ChartStyle.png(List.of(chart), 1, 1);
    }

    private static CategoryChart bars(String title, String unit, List<String> names, List<Number> values) {
        CategoryChart chart = ChartStyle.bars(ChartStyle.WIDTH, title, "configuration", unit);
        chart.getStyler().setLegendVisible(false);
        chart.addSeries(title, names, values);
        return chart;
    }

    private static CategoryChart grouped(String title, String yTitle) {
        CategoryChart chart = ChartStyle.bars(WIDE, title, "workload", yTitle);
        chart.getStyler().setLegendPosition(Styler.LegendPosition.OutsideE);
        chart.getStyler().setYAxisMin(0.0);
        chart.getStyler().setYAxisMax(PERCENT);
        return chart;
    }

    private static XYChart lines(String title, String xTitle, String yTitle) {
        XYChart chart = ChartStyle.lines(title, xTitle, yTitle);
        chart.getStyler().setXAxisLogarithmic(true);
        return chart;
    }
}
