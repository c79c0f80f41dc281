package dev.ultrakv.bench.suite;

import com.fasterxml.jackson.databind.JsonNode;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Compares two results directories figure by figure: every number under {@code benchmarks} present in both,
 * with the ratio of the second to the first. Counts and settings that are equal in both are left out, so what is
 * printed is what changed.
 */
public final class ResultsComparison {

    /**
     * One figure in both runs.
     *
     * @param path   where it sits in {@code results.json}, e.g. {@code throughput.levels[c=100].requestsPerSecond}
     * @param first  its value in the first run
     * @param second its value in the second run
     */
    public record Figure(String path, double first, double second) {

        /** second ÷ first; NaN when the first is 0. */
        public double ratio() {
            return first == 0 ? Double.NaN : second / first;
        }
    }

    private ResultsComparison() {
    }

    /** The figures that differ between the runs in {@code first} and {@code second}, in the first's order. */
    public static List<Figure> compare(Path first, Path second) {
        Map<String, Double> a = figures(ResultsJson.read(first));
        Map<String, Double> b = figures(ResultsJson.read(second));
        List<Figure> figures = new ArrayList<>();
        a.forEach((path, value) -> {
            Double other = b.get(path);
            if (other != null && !other.equals(value)) {
                figures.add(new Figure(path, value, other));
            }
        });
        return figures;
    }

    /** The figures as a table for the terminal. */
    public static String format(Path first, Path second, List<Figure> figures) {
        StringBuilder text = new StringBuilder(String.format(Locale.ROOT, "A = %s%nB = %s%n%-60s %14s %14s %8s%n",
                first, second, "figure", "A", "B", "B / A"));
        for (Figure f : figures) {
            text.append(String.format(Locale.ROOT, "%-60s %14.4f %14.4f %8s%n", f.path(), f.first(), f.second(),
                    Double.isNaN(f.ratio()) ? "-" : String.format(Locale.ROOT, "%.3f", f.ratio())));
        }
        return text.toString();
    }

    /** The numbers of the benchmarks, then those of the KV tiers (under {@code tiers.}) where the run had them. */
    private static Map<String, Double> figures(JsonNode results) {
        Map<String, Double> figures = numbers(results.path("benchmarks"));
        numbers(results.path("tiers")).forEach((path, value) -> figures.put("tiers." + path, value));
        return figures;
    }

    /** Every numeric leaf of {@code node} by its path. */
    static Map<String, Double> numbers(JsonNode node) {
        Map<String, Double> numbers = new LinkedHashMap<>();
        collect(node, "", numbers);
        return numbers;
    }

    private static void collect(JsonNode node, String path, Map<String, Double> numbers) {
        if (node.isNumber()) {
            numbers.put(path, node.asDouble());
        } else if (node.isObject()) {
            node.properties().forEach(e -> collect(e.getValue(), path.isEmpty() ? e.getKey()
                    : path + "." + e.getKey(), numbers));
        } else if (node.isArray()) {
            for (int i = 0; i < node.size(); i++) {
                collect(node.get(i), path + "[" + label(node.get(i), i) + "]", numbers);
            }
        }
    }

    /** A row's name where it has one (a configuration, a workload and strategy, a concurrency), else its index. */
    private static String label(JsonNode row, int index) {
        if (row.hasNonNull("name")) {
            return row.get("name").asText();
        }
        if (row.hasNonNull("workload") && row.hasNonNull("strategy")) {
            return row.get("workload").asText() + " " + row.get("strategy").asText();
        }
        if (row.hasNonNull("engine")) {
            return row.get("engine").asText();
        }
        if (row.hasNonNull("tier")) {
            return row.get("tier").asText();
        }
        if (row.hasNonNull("concurrency")) {
            return "c=" + row.get("concurrency").asText();
        }
        return Integer.toString(index);
    }
}
