package dev.ultrakv.cli;

import dev.ultrakv.bench.suite.ResultsComparison;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

import java.nio.file.Path;
import java.util.concurrent.Callable;

/** {@code ultrakv bench compare A B}: the ratios between the figures of two results directories. */
@Command(name = "compare", mixinStandardHelpOptions = true,
        description = "Print every figure that differs between two results directories, with B / A.")
final class BenchCompareCommand implements Callable<Integer> {
    @Parameters(index = "0", paramLabel = "A", description = "The first results directory (or its results.json).")
    Path first;

    @Parameters(index = "1", paramLabel = "B", description = "The second results directory (or its results.json).")
    Path second;

    @Override
    public Integer call() {
        System.out.print(ResultsComparison.format(first, second, ResultsComparison.compare(first, second)));
        return 0;
    }
}
