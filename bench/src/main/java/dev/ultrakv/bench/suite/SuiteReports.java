package dev.ultrakv.bench.suite;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Writes a run's results directory: {@code results.json}, {@code results.csv} (when the configurations ran),
 * the PNG charts and {@code report.html}, which embeds them.
 */
public final class SuiteReports {
    /** The results, every figure. */
    public static final String JSON = "results.json";
    /** The guide's table, one row per configuration. */
    public static final String CSV = "results.csv";
    /** The page for people. */
    public static final String HTML = "report.html";
    /** Where runs go unless told otherwise, one directory per run. */
    public static final Path DEFAULT_ROOT = Path.of("bench-results");
    private static final DateTimeFormatter RUN_NAME = DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss");

    private SuiteReports() {
    }

    /** A fresh directory name for a run started now: {@code bench-results/20261128-143012}. */
    public static Path defaultDirectory() {
        return DEFAULT_ROOT.resolve(LocalDateTime.now().format(RUN_NAME));
    }

    /**
     * Writes every report of {@code results} into {@code directory}, creating it.
     *
     * @return the files written
     */
    public static List<Path> write(SuiteResults results, Path directory) {
        try {
            Files.createDirectories(directory);
            List<Path> written = new ArrayList<>();
            written.add(Files.writeString(directory.resolve(JSON), ResultsJson.write(results)));
            if (results.benchmarks().get(Benchmark.CONFIGURATIONS.key())
                    instanceof ConfigurationsBenchmark.Result configurations) {
                written.add(Files.writeString(directory.resolve(CSV), ResultsCsv.write(configurations)));
            }
            Map<String, byte[]> charts = SuiteCharts.draw(results);
            for (var chart : charts.entrySet()) {
                written.add(Files.write(directory.resolve(chart.getKey()), chart.getValue()));
            }
            written.add(Files.writeString(directory.resolve(HTML), ResultsHtml.write(results, charts)));
            return written;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the results to " + directory + ": " + e.getMessage(), e);
        }
    }

    /** The summary of {@code results} as lines for the terminal. */
    public static String summary(SuiteResults results) {
        StringBuilder text = new StringBuilder();
        for (String[] card : ResultsHtml.summary(results)) {
            text.append(String.format("  %-44s %s%n", card[0], card[1]));
        }
        return text.toString();
    }
}
