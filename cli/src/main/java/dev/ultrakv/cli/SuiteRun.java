package dev.ultrakv.cli;

import dev.ultrakv.bench.suite.Benchmark;
import dev.ultrakv.bench.suite.BenchmarkSuite;
import dev.ultrakv.bench.suite.Progress;
import dev.ultrakv.bench.suite.HarnessQualityProbe;
import dev.ultrakv.bench.suite.SuiteContext;
import dev.ultrakv.bench.suite.SuiteReports;
import dev.ultrakv.bench.suite.SuiteResults;

import java.nio.file.Path;
import java.util.List;

/** Runs benchmarks of the suite from the command line: progress on stderr, summary and directory on stdout. */
final class SuiteRun {
    /** Stories the configurations benchmark's quality figures run over: the quality command's default. */
    private static final int QUALITY_TEXTS = 4;
    /** One story with --quick, to stay within its minute. */
    private static final int QUICK_QUALITY_TEXTS = 1;

    private SuiteRun() {
    }

    /** Runs {@code benchmarks} with {@code flags} and writes the results directory. */
    static int execute(SuiteFlags flags, List<Benchmark> benchmarks) {
        var settings = flags.settings();
        var tiers = flags.suiteTiers();
        var model = flags.suiteModel();
        Path directory = flags.out != null ? flags.out : SuiteReports.defaultDirectory();
        System.err.printf("ultrakv bench: %s on %s%s -> %s%n", benchmarks.size() == Benchmark.all().size() ? "all"
                        : String.join(", ", benchmarks.stream().map(Benchmark::key).toList()), model.name(),
                flags.quick ? " (--quick)" : "", directory);
        if (tiers.any()) {
            System.err.printf("ultrakv bench: KV tiers below memory, a fresh set per engine: %s%n",
                    String.join("; ", tiers.description()));
        }
        SuiteContext context = SuiteContext.of(settings, model, Progress.onStandardError(),
                new HarnessQualityProbe(flags.quick ? QUICK_QUALITY_TEXTS : QUALITY_TEXTS), tiers);
        SuiteResults results = BenchmarkSuite.run(context, benchmarks, flags.quick);
        SuiteReports.write(results, directory);
        System.out.print(SuiteReports.summary(results));
        System.out.printf("results: %s, %.0f s%n", directory.resolve(SuiteReports.HTML),
                results.durationSeconds());
        return 0;
    }
}
