package dev.ultrakv.bench.suite;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code results.csv}: the guide's export, one row per configuration of the configurations benchmark with its
 * latency, memory, throughput and quality figures in columns ({@code latency_p50}, {@code memory_final_memory_mb},
 * ...). RFC 4180 quoting; numbers with a dot whatever the locale.
 */
final class ResultsCsv {
    static final List<String> HEADER = List.of("configuration", "status", "latency_count", "latency_mean",
            "latency_median", "latency_stdev", "latency_min", "latency_max", "latency_p50", "latency_p95",
            "latency_p99", "memory_initial_memory_mb", "memory_final_memory_mb", "memory_peak_memory_mb",
            "memory_memory_increase_mb", "memory_memory_per_request_kb", "kv_bytes_capacity",
            "throughput_req_per_sec", "throughput_tokens_per_sec", "quality_kl_divergence",
            "quality_top1_agreement", "quality_perplexity", "error");

    private ResultsCsv() {
    }

    /** The CSV of {@code result}, header first. */
    static String write(ConfigurationsBenchmark.Result result) {
        StringBuilder csv = new StringBuilder(String.join(",", HEADER)).append('\n');
        for (ConfigurationsBenchmark.Row row : result.rows()) {
            LatencyStats l = row.latency();
            MemoryBenchmark.Result m = row.memory();
            QualityFigures q = row.quality();
            List<String> cells = new ArrayList<>(List.of(row.name(), row.status(), Long.toString(l.count()),
                    number(l.mean()), number(l.median()), number(l.stdev()), number(l.min()), number(l.max()),
                    number(l.p50()), number(l.p95()), number(l.p99())));
            if (m == null) {
                cells.addAll(List.of("", "", "", "", "", ""));
            } else {
                cells.addAll(List.of(number(m.initialRssMb()), number(m.finalRssMb()), number(m.peakRssMb()),
                        number(m.rssIncreaseMb()), number(m.memoryPerRequestKb()),
                        Long.toString(m.kvBytesCapacity())));
            }
            cells.addAll(List.of(number(row.requestsPerSecond()), number(row.generatedTokensPerSecond()),
                    optional(q.klDivergence()), optional(q.top1Agreement()), optional(q.perplexity()),
                    row.error() == null ? "" : row.error()));
            csv.append(String.join(",", cells.stream().map(ResultsCsv::quote).toList())).append('\n');
        }
        return csv.toString();
    }

    private static String number(double value) {
        return String.format(Locale.ROOT, "%.4f", value);
    }

    private static String optional(Double value) {
        return value == null ? "" : number(value);
    }

    private static String quote(String cell) {
        if (cell.contains(",") || cell.contains("\"") || cell.contains("\n")) {
            return '"' + cell.replace("\"", "\"\"") + '"';
        }
        return cell;
    }
}
