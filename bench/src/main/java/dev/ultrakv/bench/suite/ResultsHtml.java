package dev.ultrakv.bench.suite;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;

import static dev.ultrakv.bench.suite.HtmlPage.STYLE;
import static dev.ultrakv.bench.suite.HtmlPage.esc;
import static dev.ultrakv.bench.suite.HtmlPage.fmt;
import static dev.ultrakv.bench.suite.HtmlPage.image;
import static dev.ultrakv.bench.suite.HtmlPage.rawTable;
import static dev.ultrakv.bench.suite.HtmlPage.section;
import static dev.ultrakv.bench.suite.HtmlPage.table;

/**
 * {@code report.html}: one self-contained page (charts embedded as base64 PNG, no scripts, no links out) with the
 * key figures at the top, a table per benchmark, the charts, and the machine and configuration at the bottom.
 */
final class ResultsHtml {

    private ResultsHtml() {
    }

    /** The page for {@code results} with {@code charts} (PNG bytes by file name). */
    static String write(SuiteResults results, Map<String, byte[]> charts) {
        var html = new StringBuilder("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">")
                .append("<title>UltraKV benchmark report ").append(esc(results.timestamp())).append("</title>")
                .append("<style>").append(STYLE).append("</style></head><body>\n")
                .append("<h1>UltraKV benchmark report</h1>\n<p class=\"meta\">")
                .append(esc(results.timestamp())).append(" · model ").append(esc(results.model().name()))
                .append(" · commit ").append(esc(results.machine().gitCommit())).append(" · ")
                .append(esc(results.machine().cpu())).append(", ").append(results.machine().cores())
                .append(" cores · ").append(fmt("%.0f s", results.durationSeconds())).append("</p>\n");
        if (results.quick()) {
            html.append("<p class=\"quick\"><b>--quick run:</b> small counts for a first look; the figures are ")
                    .append("not comparable with a full run.</p>\n");
        }
        html.append("<h2>Summary</h2>\n<div class=\"cards\">");
        for (String[] card : summary(results)) {
            html.append("<div class=\"card\"><div class=\"v\">").append(esc(card[1])).append("</div><div class=\"k\">")
                    .append(esc(card[0])).append("</div></div>");
        }
        html.append("</div>\n");
        Map<String, Object> b = results.benchmarks();
        if (b.get(Benchmark.CONFIGURATIONS.key()) instanceof ConfigurationsBenchmark.Result r) {
            configurations(html, r, charts);
        }
        if (b.get(Benchmark.LATENCY.key()) instanceof LatencyBenchmark.Result r) {
            section(html, "Latency", "Requests one after another on one engine; milliseconds.");
            latencyTable(html, List.of("requests"), List.of(List.of(Integer.toString(r.iterations()))),
                    List.of(r.latency()));
            image(html, charts, "latency-histogram.png");
        }
        if (b.get(Benchmark.CACHE_LATENCY.key()) instanceof CacheLatencyBenchmark.Result r) {
            cacheLatency(html, r);
        }
        if (b.get(Benchmark.THROUGHPUT.key()) instanceof ThroughputBenchmark.Result r) {
            throughput(html, r, charts);
        }
        if (b.get(Benchmark.BATCH.key()) instanceof BatchBenchmark.Result r) {
            section(html, "Batch", "processBatchOptimized, one batch awaited before the next.");
            table(html, List.of("requests", "batch size", "duration (s)", "requests/s", "tokens/s", "ms per batch"),
                    List.of(List.of(Integer.toString(r.requests()), Integer.toString(r.batchSize()),
                            fmt("%.2f", r.durationSeconds()), fmt("%.1f", r.requestsPerSecond()),
                            fmt("%.0f", r.generatedTokensPerSecond()), fmt("%.2f", r.meanBatchMs()))));
        }
        if (b.get(Benchmark.MEMORY.key()) instanceof MemoryBenchmark.Result r) {
            memory(html, r);
        }
        if (b.get(Benchmark.GPU_MEMORY.key()) instanceof GpuMemoryBenchmark.Result r) {
            section(html, "GPU memory", r.available() ? "" : esc(r.reason()));
        }
        if (b.get(Benchmark.HIT_RATE.key()) instanceof HitRateBenchmark.Result r) {
            hitRate(html, r);
        }
        if (b.get(Benchmark.STRATEGIES.key()) instanceof StrategiesBenchmark.Result r) {
            strategies(html, r, charts);
        }
        TierFiguresHtml.write(html, results);
        machine(html, results);
        return html.append("</body></html>\n").toString();
    }

    /** The key figures of the run as (label, value) pairs. */
    static List<String[]> summary(SuiteResults results) {
        List<String[]> cards = new ArrayList<>();
        Map<String, Object> b = results.benchmarks();
        if (b.get(Benchmark.LATENCY.key()) instanceof LatencyBenchmark.Result r) {
            cards.add(new String[] {"latency p50 / p95, one at a time", fmt("%.2f / %.2f ms", r.latency().p50(),
                    r.latency().p95())});
        }
        if (b.get(Benchmark.CACHE_LATENCY.key()) instanceof CacheLatencyBenchmark.Result r) {
            cards.add(new String[] {"mean latency saved by a cache hit", fmt("%.1f %%", r.improvementMeanPercent())});
            cards.add(new String[] {"time to first token, miss → hit", fmt("%.2f → %.2f ms", r.missPassTtftMeanMs(),
                    r.hitPassTtftMeanMs())});
        }
        if (b.get(Benchmark.THROUGHPUT.key()) instanceof ThroughputBenchmark.Result r) {
            ThroughputBenchmark.Level best = r.levels().stream()
                    .max(Comparator.comparingDouble(ThroughputBenchmark.Level::requestsPerSecond)).orElseThrow();
            cards.add(new String[] {"best throughput (concurrency " + best.concurrency() + ")",
                    fmt("%.0f req/s", best.requestsPerSecond())});
            cards.add(new String[] {"generated tokens/s at that level", fmt("%.0f", best.generatedTokensPerSecond())});
        }
        if (b.get(Benchmark.BATCH.key()) instanceof BatchBenchmark.Result r) {
            cards.add(new String[] {"batch throughput (batches of " + r.batchSize() + ")",
                    fmt("%.0f req/s", r.requestsPerSecond())});
        }
        if (b.get(Benchmark.HIT_RATE.key()) instanceof HitRateBenchmark.Result r) {
            cards.add(new String[] {"hit rate, measured vs expected", fmt("%.1f %% vs %.1f %%", 100 * r.hitRate(),
                    100 * r.expectedHitRate())});
        }
        if (b.get(Benchmark.MEMORY.key()) instanceof MemoryBenchmark.Result r) {
            cards.add(new String[] {"peak resident memory", fmt("%.0f MB", r.peakRssMb())});
        }
        if (b.get(Benchmark.CONFIGURATIONS.key()) instanceof ConfigurationsBenchmark.Result r) {
            long failed = r.rows().stream().filter(row -> !row.ok()).count();
            cards.add(new String[] {"configurations run", (r.rows().size() - failed) + " of " + r.rows().size()});
        }
        Long promoted = TierFiguresHtml.promotedBlocks(results);
        if (promoted != null) {
            cards.add(new String[] {"KV blocks promoted from the tiers", Long.toString(promoted)});
        }
        return cards;
    }

    private static void configurations(StringBuilder html, ConfigurationsBenchmark.Result r,
                                       Map<String, byte[]> charts) {
        section(html, "Configurations", "The guide's four configurations, each on a fresh engine: latency one at a "
                + "time (ms), resident memory after that run, throughput at a fixed concurrency, and quality "
                + "against the float32 cache.");
        List<List<String>> rows = new ArrayList<>();
        for (ConfigurationsBenchmark.Row row : r.rows()) {
            if (!row.ok()) {
                rows.add(List.of(esc(row.name()), "<span class=\"failed\">failed</span>", "", "", "", "", "", "",
                        "<span class=\"failed\">" + esc(row.error()) + "</span>"));
                continue;
            }
            QualityFigures q = row.quality();
            rows.add(List.of(esc(row.name()), "ok", fmt("%.2f", row.latency().p50()), fmt("%.2f", row.latency().p95()),
                    fmt("%.2f", row.latency().p99()), fmt("%.1f", row.memory().finalRssMb()),
                    fmt("%.1f", row.memory().kvBytesCapacity() / 1048576.0), fmt("%.1f", row.requestsPerSecond()),
                    q.measured() ? fmt("KL %.4f, top-1 %.3f, ppl %.2f", q.klDivergence(), q.top1Agreement(),
                            q.perplexity()) : esc(q.note())));
        }
        rawTable(html, List.of("configuration", "status", "p50", "p95", "p99", "RSS (MB)", "KV capacity (MB)",
                "requests/s", "quality"), rows);
        image(html, charts, "configurations.png");
    }

    private static void cacheLatency(StringBuilder html, CacheLatencyBenchmark.Result r) {
        section(html, "Cache latency", "The same " + r.iterations() + " requests twice on one engine whose cache ("
                + r.cacheTokens() + " positions) holds them all: the first pass computes, the second finds each "
                + "prompt cached; milliseconds.");
        latencyTable(html, List.of("pass", "full hits"), List.of(
                List.of("first (misses)", Long.toString(r.missPassHits())),
                List.of("second (hits)", Long.toString(r.hitPassHits()))), List.of(r.missPass(), r.hitPass()));
        html.append("<p>Improvement: mean ").append(fmt("%.1f %%", r.improvementMeanPercent())).append(", p95 ")
                .append(fmt("%.1f %%", r.improvementP95Percent())).append(". Mean time to first token (what a hit ")
                .append("saves: the prompt's prefill): ").append(fmt("%.3f ms, then %.3f ms", r.missPassTtftMeanMs(),
                        r.hitPassTtftMeanMs())).append(".</p>\n");
    }

    private static void throughput(StringBuilder html, ThroughputBenchmark.Result r, Map<String, byte[]> charts) {
        section(html, "Throughput", "A fixed number of requests in flight (closed loop), a fresh engine per level. "
                + "Latency is each request's own, from send to result, queueing included; 1 / throughput is the "
                + "guide's \"average latency\" (duration ÷ requests), which is not a latency.");
        List<List<String>> rows = new ArrayList<>();
        for (ThroughputBenchmark.Level l : r.levels()) {
            rows.add(List.of(Integer.toString(l.concurrency()), Long.toString(l.requests()),
                    fmt("%.1f", l.requestsPerSecond()), fmt("%.0f", l.generatedTokensPerSecond()),
                    fmt("%.2f", l.inverseThroughputMs()), fmt("%.1f", l.latency().mean()),
                    fmt("%.1f", l.latency().p50()), fmt("%.1f", l.latency().p95()), fmt("%.1f", l.latency().p99())));
        }
        table(html, List.of("concurrency", "requests", "requests/s", "tokens/s", "1 / throughput (ms)",
                "latency mean (ms)", "p50", "p95", "p99"), rows);
        image(html, charts, "throughput-vs-concurrency.png");
        image(html, charts, "latency-vs-concurrency.png");
    }

    private static void memory(StringBuilder html, MemoryBenchmark.Result r) {
        section(html, "Memory", "Resident set from /proc/self/status (VmRSS; peak VmHWM, reset at the start: "
                + r.peakSinceBenchmark() + "), around " + r.requests() + " requests on a fresh engine.");
        table(html, List.of("RSS before (MB)", "after (MB)", "peak (MB)", "increase (MB)", "per request (KB)",
                        "heap before / after (MB)", "KV in use / capacity (MB)"),
                List.of(List.of(fmt("%.1f", r.initialRssMb()), fmt("%.1f", r.finalRssMb()), fmt("%.1f", r.peakRssMb()),
                        fmt("%.1f", r.rssIncreaseMb()), fmt("%.2f", r.memoryPerRequestKb()),
                        fmt("%.1f / %.1f", r.heapUsedInitialMb(), r.heapUsedFinalMb()),
                        fmt("%.1f / %.1f", r.kvBytesInUse() / 1048576.0, r.kvBytesCapacity() / 1048576.0))));
    }

    private static void hitRate(StringBuilder html, HitRateBenchmark.Result r) {
        section(html, "Hit rate", r.requests() + " requests of which " + r.repeatedRequests() + " repeat an earlier "
                + "prompt (asked: " + fmt("%.2f", r.repeatRatio()) + "), one engine with a cache of "
                + r.cacheTokens() + " positions.");
        table(html, List.of("requests", "unique", "repeated", "hits", "misses", "hit rate", "expected",
                "token hit rate", "evictions"), List.of(List.of(Integer.toString(r.requests()),
                Integer.toString(r.uniqueRequests()), Integer.toString(r.repeatedRequests()),
                Long.toString(r.cacheHits()), Long.toString(r.cacheMisses()), fmt("%.2f %%", 100 * r.hitRate()),
                fmt("%.2f %%", 100 * r.expectedHitRate()), fmt("%.2f %%", 100 * r.tokenHitRate()),
                Long.toString(r.evictions()))));
    }

    private static void strategies(StringBuilder html, StrategiesBenchmark.Result r, Map<String, byte[]> charts) {
        section(html, "Strategies", "Each strategy on a fresh engine with a cache of " + r.cacheTokens()
                + " positions, on each workload; prompts longer than the context allows are skipped.");
        List<List<String>> rows = new ArrayList<>();
        for (StrategiesBenchmark.Row row : r.rows()) {
            rows.add(List.of(row.workload(), row.strategy().name(), Integer.toString(row.requests()),
                    Integer.toString(row.skipped()), fmt("%.2f %%", 100 * row.hitRate()),
                    fmt("%.2f %%", 100 * row.tokenHitRate()), Long.toString(row.evictions()),
                    fmt("%.2f", row.latency().mean()), fmt("%.2f", row.latency().p95())));
        }
        table(html, List.of("workload", "strategy", "requests", "skipped", "hit rate", "token hit rate",
                "evictions", "latency mean (ms)", "p95 (ms)"), rows);
        image(html, charts, "hit-rate-by-strategy.png");
        html.append("<p>The same workloads in the policy simulator (no model; <code>ultrakv simulate</code>), with"
                + " Belady's offline optimum, at 1-20 % of each working set: the ordering the bars above should"
                + " show.</p>\n");
        image(html, charts, SuiteCharts.SIMULATED_STRATEGIES);
    }

    private static void machine(StringBuilder html, SuiteResults results) {
        MachineInfo m = results.machine();
        section(html, "Machine and configuration", "");
        List<List<String>> rows = new ArrayList<>(List.of(
                List.of("CPU", m.cpu()), List.of("cores", Integer.toString(m.cores())),
                List.of("memory", fmt("%.1f GiB", m.memoryBytes() / 1073741824.0)),
                List.of("load average at start", fmt("%.2f", m.loadAverage())),
                List.of("JVM", m.jvm()), List.of("OS", m.os()), List.of("git commit", m.gitCommit()),
                List.of("model", results.model().name() + " (" + results.model().source() + ", context "
                        + results.model().contextLength() + ")"),
                List.of("engine", results.config().engineConfig()),
                List.of("settings", results.config().settings().toString())));
        if (!results.config().tiers().isEmpty()) {
            rows.add(rows.size() - 1, List.of("KV tiers", String.join("; ", results.config().tiers())));
        }
        table(html, List.of("what", "value"), rows);
    }

    private static void latencyTable(StringBuilder html, List<String> leading, List<List<String>> leadingCells,
                                     List<LatencyStats> stats) {
        List<String> headers = new ArrayList<>(leading);
        headers.addAll(List.of("mean", "median", "stdev", "min", "max", "p50", "p95", "p99"));
        List<List<String>> rows = new ArrayList<>();
        for (int i = 0; i < stats.size(); i++) {
            LatencyStats s = stats.get(i);
            List<String> row = new ArrayList<>(leadingCells.get(i));
            for (double v : new double[] {s.mean(), s.median(), s.stdev(), s.min(), s.max(), s.p50(), s.p95(),
                    s.p99()}) {
                row.add(fmt("%.3f", v));
            }
            rows.add(row);
        }
        table(html, headers, rows);
    }
}
