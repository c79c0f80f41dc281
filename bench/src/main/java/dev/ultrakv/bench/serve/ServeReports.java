package dev.ultrakv.bench.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import dev.ultrakv.bench.suite.MachineInfo;
import dev.ultrakv.bench.suite.SuiteReports;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Collectors;

import static dev.ultrakv.bench.suite.HtmlPage.STYLE;
import static dev.ultrakv.bench.suite.HtmlPage.esc;
import static dev.ultrakv.bench.suite.HtmlPage.fmt;
import static dev.ultrakv.bench.suite.HtmlPage.image;
import static dev.ultrakv.bench.suite.HtmlPage.section;
import static dev.ultrakv.bench.suite.HtmlPage.table;

/**
 * Writes a {@code bench serve} results directory with the suite's names and conventions: {@code results.json}
 * (the suite's schema, {@code benchmarks.serve}), {@code results.csv} (one row per concurrency level),
 * {@code report.html} (self-contained) and the PNG charts.
 */
public final class ServeReports {
    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final List<String> LATENCIES = List.of("ttft", "tpot", "itl", "e2el");
    private static final List<String> FIGURES = List.of("mean", "p50", "p90", "p95", "p99");
    /** The CSV's columns: the level, its throughputs, then mean and percentiles of each latency, then errors. */
    static final List<String> HEADER = header();

    private ServeReports() {
    }

    /**
     * Writes every report of {@code results} into {@code directory}, creating it.
     *
     * @return the files written
     */
    public static List<Path> write(ServeResults results, Path directory) {
        try {
            Files.createDirectories(directory);
            List<Path> written = new ArrayList<>();
            written.add(Files.writeString(directory.resolve(SuiteReports.JSON), json(results)));
            written.add(Files.writeString(directory.resolve(SuiteReports.CSV), csv(results.result())));
            Map<String, byte[]> charts = ServeCharts.draw(results.result());
            for (var chart : charts.entrySet()) {
                written.add(Files.write(directory.resolve(chart.getKey()), chart.getValue()));
            }
            written.add(Files.writeString(directory.resolve(SuiteReports.HTML), html(results, charts)));
            return written;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the results to " + directory + ": " + e.getMessage(), e);
        }
    }

    /** The results as indented JSON. */
    static String json(ServeResults results) {
        try {
            return MAPPER.writeValueAsString(results);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The CSV: a header, then one row per level. Numbers with a dot whatever the locale. */
    static String csv(ServeBenchmark.Result result) {
        StringBuilder csv = new StringBuilder(String.join(",", HEADER)).append('\n');
        for (ServeBenchmark.Level l : result.levels()) {
            List<String> cells = new ArrayList<>(List.of(Integer.toString(l.concurrency()),
                    Integer.toString(l.requests()), Integer.toString(l.completed()), Integer.toString(l.failed()),
                    Integer.toString(l.notSent()), number(l.durationSeconds()), number(l.requestsPerSecond()),
                    number(l.outputTokensPerSecond()), number(l.totalTokensPerSecond()),
                    Long.toString(l.promptTokens()), Long.toString(l.outputTokens()),
                    l.cachedTokenShare() == null ? "" : number(l.cachedTokenShare())));
            for (Distribution d : List.of(l.ttft(), l.tpot(), l.itl(), l.e2el())) {
                for (double v : new double[] {d.mean(), d.p50(), d.p90(), d.p95(), d.p99()}) {
                    cells.add(number(v));
                }
            }
            cells.add(errors(l.errors(), " "));
            csv.append(String.join(",", cells)).append('\n');
        }
        return csv.toString();
    }

    /** What the run measured, a line per level, for the terminal. */
    public static String summary(ServeResults results) {
        ServeBenchmark.Result r = results.result();
        StringBuilder text = new StringBuilder(fmt("%s  model %s  workload %s%s%n", r.endpoint(),
                r.model() == null ? "(none sent)" : r.model(), r.workload(), r.stream() ? "  streaming" : ""));
        text.append(fmt("%6s %9s %9s %10s %11s %9s %9s %9s %9s %9s %7s  %s%n", "conc", "ok/all", "req/s",
                "out tok/s", "TTFT p50", "TTFT p99", "TPOT p50", "ITL p50", "E2E p50", "E2E p99", "cached",
                "errors"));
        for (ServeBenchmark.Level l : r.levels()) {
            text.append(fmt("%6d %9s %9.2f %10.1f %11.2f %9.2f %9.2f %9.2f %9.1f %9.1f %7s  %s%n", l.concurrency(),
                    l.completed() + "/" + l.requests(), l.requestsPerSecond(), l.outputTokensPerSecond(),
                    l.ttft().p50(), l.ttft().p99(), l.tpot().p50(), l.itl().p50(), l.e2el().p50(), l.e2el().p99(),
                    l.cachedTokenShare() == null ? "-" : fmt("%.1f%%", 100 * l.cachedTokenShare()),
                    l.notSent() > 0 ? errors(l.errors(), " ") + " not-sent=" + l.notSent() : errors(l.errors(), " ")));
        }
        text.append("  (latencies in ms; TTFT, TPOT and ITL need --stream)").append(System.lineSeparator());
        for (ServeBenchmark.Level l : r.levels()) {
            l.errorExamples().forEach((key, example) -> text.append(fmt("  c=%d %s: %s%n", l.concurrency(), key,
                    example)));
        }
        return text.toString();
    }

    /** The page for {@code results} with {@code charts} (PNG bytes by file name). */
    static String html(ServeResults results, Map<String, byte[]> charts) {
        ServeBenchmark.Result r = results.result();
        MachineInfo m = results.machine();
        var html = new StringBuilder("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .append("<title>UltraKV bench serve ").append(esc(results.timestamp())).append("</title>")
                .append("<style>").append(STYLE).append("</style></head><body>\n")
                .append("<h1>bench serve: ").append(esc(r.endpoint())).append("</h1>\n<p class=\"meta\">")
                .append(esc(results.timestamp())).append(" · model ").append(esc(results.model().name()))
                .append(" · workload ").append(esc(r.workload())).append(r.stream() ? " · streaming" : "")
                .append(" · load generator on ").append(esc(m.cpu())).append(", ").append(m.cores())
                .append(" cores · ").append(fmt("%.0f s", results.durationSeconds())).append("</p>\n");
        section(html, "Throughput", "A fixed number of requests in flight (closed loop) per level; throughputs count "
                + "completed requests over the level's wall time. Cached is the share of prompt tokens the server "
                + "reported cached (usage.prompt_tokens_details.cached_tokens, or llama.cpp's timings).");
        List<List<String>> rows = new ArrayList<>();
        for (ServeBenchmark.Level l : r.levels()) {
            rows.add(List.of(Integer.toString(l.concurrency()), l.completed() + " / " + l.requests(),
                    Integer.toString(l.notSent()), fmt("%.2f", l.durationSeconds()),
                    fmt("%.2f", l.requestsPerSecond()), fmt("%.1f", l.outputTokensPerSecond()),
                    fmt("%.1f", l.totalTokensPerSecond()), Long.toString(l.promptTokens()),
                    Long.toString(l.outputTokens()), l.cachedTokenShare() == null ? "-"
                            : fmt("%.1f %%", 100 * l.cachedTokenShare()), errors(l.errors(), ", ")));
        }
        table(html, List.of("concurrency", "completed", "not sent", "duration (s)", "requests/s", "output tokens/s",
                "total tokens/s", "prompt tokens", "output tokens", "cached", "errors"), rows);
        image(html, charts, ServeCharts.THROUGHPUT);
        section(html, "Latency", "Milliseconds. TTFT: send to first text chunk; TPOT: (end to end - TTFT) / (output "
                + "tokens - 1); ITL: every gap between text chunks; end to end: send to the end of the response. "
                + "Percentiles interpolate as numpy's (vLLM's benchmark_serving).");
        List<List<String>> latency = new ArrayList<>();
        for (ServeBenchmark.Level l : r.levels()) {
            for (String name : LATENCIES) {
                Distribution d = distribution(l, name);
                latency.add(List.of(Integer.toString(l.concurrency()), name.toUpperCase(Locale.ROOT),
                        Long.toString(d.count()), fmt("%.2f", d.mean()), fmt("%.2f", d.stdev()),
                        fmt("%.2f", d.p50()), fmt("%.2f", d.p90()), fmt("%.2f", d.p95()), fmt("%.2f", d.p99()),
                        fmt("%.2f", d.max())));
            }
        }
        table(html, List.of("concurrency", "figure", "count", "mean", "stdev", "p50", "p90", "p95", "p99", "max"),
                latency);
        image(html, charts, ServeCharts.LATENCY);
        List<List<String>> errorRows = new ArrayList<>();
        for (ServeBenchmark.Level l : r.levels()) {
            l.errorExamples().forEach((key, example) -> errorRows.add(List.of(Integer.toString(l.concurrency()), key,
                    Integer.toString(l.errors().get(key)), example)));
        }
        if (!errorRows.isEmpty()) {
            section(html, "Errors", "Failed requests by HTTP status or kind, with what the first of each said.");
            table(html, List.of("concurrency", "error", "requests", "first message"), errorRows);
        }
        section(html, "Machine and configuration", "");
        table(html, List.of("what", "value"), List.of(List.of("server", results.config().target()),
                List.of("load generator CPU", m.cpu()), List.of("cores", Integer.toString(m.cores())),
                List.of("load average at start", fmt("%.2f", m.loadAverage())), List.of("JVM", m.jvm()),
                List.of("git commit", m.gitCommit()), List.of("settings", results.config().settings().toString())));
        return html.append("</body></html>\n").toString();
    }

    private static Distribution distribution(ServeBenchmark.Level level, String name) {
        return switch (name) {
            case "ttft" -> level.ttft();
            case "tpot" -> level.tpot();
            case "itl" -> level.itl();
            default -> level.e2el();
        };
    }

    private static String errors(Map<String, Integer> errors, String separator) {
        return errors.entrySet().stream().map(e -> e.getKey() + "=" + e.getValue())
                .collect(Collectors.joining(separator));
    }

    private static String number(double value) {
        return String.format(Locale.ROOT, "%.4f", value);
    }

    private static List<String> header() {
        List<String> header = new ArrayList<>(List.of("concurrency", "requests", "completed", "failed", "not_sent",
                "duration_s", "requests_per_s", "output_tokens_per_s", "total_tokens_per_s", "prompt_tokens",
                "output_tokens", "cached_token_share"));
        for (String latency : LATENCIES) {
            for (String figure : FIGURES) {
                header.add(latency + "_" + figure + "_ms");
            }
        }
        header.add("errors");
        return List.copyOf(header);
    }
}
