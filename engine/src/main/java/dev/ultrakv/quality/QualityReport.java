package dev.ultrakv.quality;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Locale;
import java.util.NoSuchElementException;
import java.util.stream.Collectors;

/**
 * What {@link QualityHarness#run} measured: one row per candidate over every text and length, one per candidate
 * and length, the candidates it could not run, and every run's own figures. Renders as Markdown for people and
 * as JSON for tools.
 *
 * @param model        the model's name
 * @param lengths      text lengths run, in tokens
 * @param texts        texts run at each length
 * @param greedyTokens greedy tokens compared per run (fewer where the context ends)
 * @param overall      per candidate, aggregated over every text and length it ran at
 * @param perLength    per length, then per candidate run at that length
 * @param skipped      candidates not run, with why
 * @param runs         every candidate's figures per text and length
 */
public record QualityReport(String model, List<Integer> lengths, int texts, int greedyTokens,
                            List<QualityRow> overall, List<QualityRow> perLength, List<SkippedCandidate> skipped,
                            List<RunMeasurement> runs) {
    /** The columns of both tables after the first one(s), in order. */
    static final List<String> COLUMNS = List.of("KV bytes/token", "vs f32", "bits/value", "KLD mean", "KLD max",
            "top-1", "PPL", "PPL ref", "greedy diverged", "first divergence (median)");

    /** Copies the lists. */
    public QualityReport {
        lengths = List.copyOf(lengths);
        overall = List.copyOf(overall);
        perLength = List.copyOf(perLength);
        skipped = List.copyOf(skipped);
        runs = List.copyOf(runs);
    }

    /**
     * The overall row of {@code candidate}.
     *
     * @throws NoSuchElementException if it was not run
     */
    public QualityRow row(KvCandidate candidate) {
        return overall.stream().filter(r -> r.candidate().equals(candidate)).findFirst()
                .orElseThrow(() -> new NoSuchElementException(candidate + " was not run"));
    }

    /**
     * A short description of the setup, the overall table, the per-length table and the candidates not run.
     * KLD in nats; top-1 in percent; "greedy diverged" as runs that diverged over runs; "first divergence" as
     * the median index over the runs that diverged.
     */
    public String toMarkdown() {
        StringBuilder out = new StringBuilder();
        out.append(String.format(Locale.ROOT, "KV cache quality on %s: %d texts at %s tokens; the first %d/%d of"
                        + " each is the prompt, the rest is forced one decode step at a time; greedy runs of %d"
                        + " tokens from each prompt. Reference: f32, no compression; KLD = KL(reference ‖ cache)"
                        + " per forced position, in nats. Compressed caches run where the prompt has at least %d"
                        + " tokens.%n%n", model, texts, lengths.stream().map(String::valueOf)
                        .collect(Collectors.joining(", ")), QualityHarness.PROMPT_NUMERATOR,
                QualityHarness.PROMPT_DENOMINATOR, greedyTokens, QualityHarness.MIN_COMPRESSED_PROMPT));
        header(out, "cache");
        for (QualityRow row : overall) {
            out.append("| ").append(row.candidate().label());
            cells(out, row);
        }
        if (!perLength.isEmpty()) {
            out.append(String.format(Locale.ROOT, "%nPer length:%n%n"));
            header(out, "length", "cache");
            for (QualityRow row : perLength) {
                out.append("| ").append(row.length()).append(" | ").append(row.candidate().label());
                cells(out, row);
            }
        }
        if (!skipped.isEmpty()) {
            out.append(String.format(Locale.ROOT, "%nNot run:%n%n"));
            Map<String, List<String>> byReason = skipped.stream().collect(Collectors.groupingBy(
                    SkippedCandidate::reason, LinkedHashMap::new,
                    Collectors.mapping(s -> s.candidate().label(), Collectors.toList())));
            byReason.forEach((reason, labels) -> out.append("- ").append(String.join(", ", labels)).append(": ")
                    .append(reason).append(System.lineSeparator()));
        }
        return out.toString();
    }

    private static void header(StringBuilder out, String... first) {
        StringBuilder rule = new StringBuilder("|");
        for (String column : first) {
            out.append("| ").append(column).append(' ');
            rule.append("---|");
        }
        for (String column : COLUMNS) {
            out.append("| ").append(column).append(' ');
            rule.append("---:|");
        }
        out.append('|').append(System.lineSeparator()).append(rule).append(System.lineSeparator());
    }

    private static void cells(StringBuilder out, QualityRow row) {
        QualityStats s = row.stats();
        out.append(String.format(Locale.ROOT, " | %.1f | %.3f | %.2f | %s | %s | %.2f%% | %.3f | %.3f | %d/%d | %s |%n",
                row.kvBytesPerToken(), row.float32Fraction(), row.bitsPerValue(), divergence(s.meanKl()),
                divergence(s.maxKl()), 100 * s.top1Agreement(), s.perplexity(), s.referencePerplexity(),
                s.divergedRuns(), s.runs(), s.divergedRuns() == 0 ? "none"
                        : String.format(Locale.ROOT, "%.1f", s.medianFirstDivergence())));
    }

    /** A divergence in three significant digits, or a plain 0 when it is exactly 0. */
    private static String divergence(double kl) {
        return kl == 0 ? "0" : String.format(Locale.ROOT, "%.3g", kl);
    }

    /**
     * The setup, both tables' rows, every run's figures and the candidates not run, as one JSON object. Numbers
     * are unrounded; a divergence that did not happen (and its median) is {@code null}.
     */
    public String toJson() {
        StringBuilder out = new StringBuilder("{\n");
        out.append("  \"model\": ").append(string(model)).append(",\n");
        out.append("  \"lengths\": ").append(lengths).append(",\n");
        out.append("  \"texts\": ").append(texts).append(",\n");
        out.append("  \"greedyTokens\": ").append(greedyTokens).append(",\n");
        out.append("  \"promptFraction\": ").append(number(
                (double) QualityHarness.PROMPT_NUMERATOR / QualityHarness.PROMPT_DENOMINATOR)).append(",\n");
        out.append("  \"reference\": ").append(string(KvCandidate.REFERENCE.label())).append(",\n");
        out.append("  \"overall\": [");
        rows(out, overall);
        out.append("],\n  \"perLength\": [");
        rows(out, perLength);
        out.append("],\n  \"runs\": [");
        for (int i = 0; i < runs.size(); i++) {
            RunMeasurement r = runs.get(i);
            out.append(i == 0 ? "\n" : ",\n").append("    {\"cache\": ").append(string(r.candidate().label()))
                    .append(", \"text\": ").append(r.text())
                    .append(", \"length\": ").append(r.length())
                    .append(", \"positions\": ").append(r.positions())
                    .append(", \"klMean\": ").append(number(r.klSum() / r.positions()))
                    .append(", \"klMax\": ").append(number(r.klMax()))
                    .append(", \"top1Agreement\": ").append(number((double) r.top1Matches() / r.positions()))
                    .append(", \"perplexity\": ").append(number(Math.exp(r.nll() / r.positions())))
                    .append(", \"referencePerplexity\": ").append(number(Math.exp(r.referenceNll() / r.positions())))
                    .append(", \"greedyTokens\": ").append(r.greedyTokens())
                    .append(", \"firstDivergence\": ").append(r.diverged() ? String.valueOf(r.firstDivergence())
                            : "null")
                    .append('}');
        }
        out.append(runs.isEmpty() ? "" : "\n  ").append("],\n  \"skipped\": [");
        for (int i = 0; i < skipped.size(); i++) {
            SkippedCandidate s = skipped.get(i);
            out.append(i == 0 ? "\n" : ",\n").append("    {");
            candidate(out, s.candidate());
            out.append(", \"reason\": ").append(string(s.reason())).append('}');
        }
        out.append(skipped.isEmpty() ? "]\n" : "\n  ]\n").append("}\n");
        return out.toString();
    }

    private static void rows(StringBuilder out, List<QualityRow> rows) {
        for (int i = 0; i < rows.size(); i++) {
            QualityRow row = rows.get(i);
            QualityStats s = row.stats();
            out.append(i == 0 ? "\n" : ",\n").append("    {");
            candidate(out, row.candidate());
            if (row.length() != QualityRow.ALL_LENGTHS) {
                out.append(", \"length\": ").append(row.length());
            }
            out.append(", \"kvBytesPerToken\": ").append(number(row.kvBytesPerToken()))
                    .append(", \"float32Fraction\": ").append(number(row.float32Fraction()))
                    .append(", \"bitsPerValue\": ").append(number(row.bitsPerValue()))
                    .append(", \"runs\": ").append(s.runs())
                    .append(", \"positions\": ").append(s.positions())
                    .append(", \"klMean\": ").append(number(s.meanKl()))
                    .append(", \"klMax\": ").append(number(s.maxKl()))
                    .append(", \"top1Agreement\": ").append(number(s.top1Agreement()))
                    .append(", \"perplexity\": ").append(number(s.perplexity()))
                    .append(", \"referencePerplexity\": ").append(number(s.referencePerplexity()))
                    .append(", \"divergedRuns\": ").append(s.divergedRuns())
                    .append(", \"medianFirstDivergence\": ").append(number(s.medianFirstDivergence()))
                    .append('}');
        }
        if (!rows.isEmpty()) {
            out.append("\n  ");
        }
    }

    private static void candidate(StringBuilder out, KvCandidate c) {
        out.append("\"cache\": ").append(string(c.label()))
                .append(", \"codec\": ").append(string(c.codec().name().toLowerCase(Locale.ROOT)))
                .append(", \"method\": ").append(c.isCompressed()
                        ? string(c.compression().method().name().toLowerCase(Locale.ROOT)) : "null")
                .append(", \"ratio\": ").append(number(c.compression().ratio()));
    }

    /** A JSON number; NaN and the infinities, which JSON lacks, as {@code null}. */
    static String number(double value) {
        return Double.isFinite(value) ? Double.toString(value) : "null";
    }

    /** A JSON string: quotes, backslashes and control characters escaped. */
    static String string(String value) {
        StringBuilder out = new StringBuilder("\"");
        for (int i = 0; i < value.length(); i++) {
            char c = value.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        return out.append('"').toString();
    }
}
