package dev.ultrakv.bench.suite;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static dev.ultrakv.bench.suite.HtmlPage.esc;
import static dev.ultrakv.bench.suite.HtmlPage.fmt;
import static dev.ultrakv.bench.suite.HtmlPage.section;
import static dev.ultrakv.bench.suite.HtmlPage.table;

/**
 * The report's "KV tiers" section: one row per tier of each engine of each benchmark, with what the engine
 * promoted from its tiers on the engine's first row. Written only for runs with tiers.
 */
final class TierFiguresHtml {
    static final List<String> HEADERS = List.of("benchmark", "engine", "tier", "hits", "misses", "blocks written",
            "MB written", "MB read", "dropped writes", "errors", "corrupt", "load p50 (ms)", "load p99 (ms)", "loads",
            "promoted blocks", "recomputed loads", "refused records");

    private TierFiguresHtml() {
    }

    /** The section for {@code results}; nothing when the run had no tiers. */
    static void write(StringBuilder html, SuiteResults results) {
        if (results.tiers() == null) {
            return;
        }
        section(html, "KV tiers", "Every engine had a fresh set of the tiers " + esc(String.join("; ",
                results.config().tiers())) + " below its memory. The tiers keep their blocks across engines (and "
                + "runs): an engine finds what the engines before it wrote, so with tiers the hit rates and "
                + "latencies above are those of memory and tiers together. Load latency is that of one batched "
                + "load; promotion figures are the engine's, on its first row.");
        table(html, HEADERS, rows(results.tiers()));
    }

    /** The blocks promoted from the tiers by every engine of the run, or null without tiers. */
    static Long promotedBlocks(SuiteResults results) {
        if (results.tiers() == null) {
            return null;
        }
        return results.tiers().values().stream().flatMap(List::stream).mapToLong(EngineTierFigures::promotedBlocks)
                .sum();
    }

    private static List<List<String>> rows(Map<String, List<EngineTierFigures>> tiers) {
        List<List<String>> rows = new ArrayList<>();
        tiers.forEach((benchmark, engines) -> {
            for (EngineTierFigures engine : engines) {
                boolean first = true;
                for (TierFigures tier : engine.tiers()) {
                    List<String> row = new ArrayList<>(List.of(benchmark, engine.engine(), tier.tier(),
                            Long.toString(tier.hits()), Long.toString(tier.misses()),
                            Long.toString(tier.blocksWritten()), fmt("%.2f", tier.bytesWritten() / 1048576.0),
                            fmt("%.2f", tier.bytesRead() / 1048576.0), Long.toString(tier.droppedWrites()),
                            Long.toString(tier.errors()), Long.toString(tier.corrupt()),
                            fmt("%.3f", tier.loadP50Ms()), fmt("%.3f", tier.loadP99Ms())));
                    row.addAll(first ? List.of(Long.toString(engine.loads()), Long.toString(engine.promotedBlocks()),
                            Long.toString(engine.recomputedLoads()), Long.toString(engine.refusedRecords()))
                            : List.of("", "", "", ""));
                    rows.add(row);
                    first = false;
                }
            }
        });
        return rows;
    }
}
