package dev.ultrakv.bench.serve;

import dev.ultrakv.bench.suite.ChartStyle;
import org.knowm.xchart.XYChart;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.ToDoubleFunction;

/**
 * {@code bench serve}'s charts as PNG (XChart, off-screen), in the suite's look: throughput against concurrency
 * (output tokens/s and requests/s), and latency against concurrency (TTFT, TPOT and end-to-end p50 and p99).
 */
final class ServeCharts {
    /** The throughput chart's file name. */
    static final String THROUGHPUT = "serve-throughput.png";
    /** The latency chart's file name. */
    static final String LATENCY = "serve-latency.png";
    private ServeCharts() {
    }

    /** The charts of {@code result} by file name. */
    static Map<String, byte[]> draw(ServeBenchmark.Result result) {
        Map<String, byte[]> charts = new LinkedHashMap<>();
        List<ServeBenchmark.Level> levels = result.levels();
        double[] x = levels.stream().mapToDouble(ServeBenchmark.Level::concurrency).toArray();
        XYChart tokens = chart("Output tokens/s against concurrency", "tokens/s", x.length);
        tokens.addSeries("output tokens/s", x, values(levels, ServeBenchmark.Level::outputTokensPerSecond));
        XYChart requests = chart("Requests/s against concurrency", "requests/s", x.length);
        requests.addSeries("requests/s", x, values(levels, ServeBenchmark.Level::requestsPerSecond));
        tokens.getStyler().setLegendVisible(false);
        requests.getStyler().setLegendVisible(false);
        charts.put(THROUGHPUT, ChartStyle.png(List.of(tokens, requests), 1, 2));

        XYChart latency = chart("Latency against concurrency", "ms (log scale)", x.length);
        latency.getStyler().setYAxisLogarithmic(true);
        latency.addSeries("end to end p50", x, values(levels, l -> ChartStyle.positive(l.e2el().p50())));
        latency.addSeries("end to end p99", x, values(levels, l -> ChartStyle.positive(l.e2el().p99())));
        if (result.stream()) {
            latency.addSeries("TTFT p50", x, values(levels, l -> ChartStyle.positive(l.ttft().p50())));
            latency.addSeries("TTFT p99", x, values(levels, l -> ChartStyle.positive(l.ttft().p99())));
            latency.addSeries("TPOT p50", x, values(levels, l -> ChartStyle.positive(l.tpot().p50())));
            latency.addSeries("TPOT p99", x, values(levels, l -> ChartStyle.positive(l.tpot().p99())));
        }
        charts.put(LATENCY, ChartStyle.png(List.of(latency), 1, 1));
        return charts;
    }

    private static double[] values(List<ServeBenchmark.Level> levels, ToDoubleFunction<ServeBenchmark.Level> f) {
        return levels.stream().mapToDouble(f).toArray();
    }

    /** A line chart over the levels; the concurrency axis is logarithmic where there are two levels or more. */
    private static XYChart chart(String title, String yTitle, int levels) {
        XYChart chart = ChartStyle.lines(title,
                levels > 1 ? "requests in flight (log scale)" : "requests in flight", yTitle);
        chart.getStyler().setXAxisLogarithmic(levels > 1);
        return chart;
    }
}
