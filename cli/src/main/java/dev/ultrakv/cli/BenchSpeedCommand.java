package dev.ultrakv.cli;

import dev.ultrakv.bench.SpeedBenchmark;
import dev.ultrakv.bench.suite.MachineInfo;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.tensor.Parallel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/** {@code ultrakv bench speed}: llama-bench's pp / tg figures for one model file, in its formats. */
@Command(name = "speed", mixinStandardHelpOptions = true,
        description = {"Prompt processing (ppN) and text generation (tgN) speed of a model, as llama.cpp's"
                + " llama-bench measures them: one unmeasured run, then mean ± sd of tokens/s over the repetitions."})
final class BenchSpeedCommand implements Callable<Integer> {
    @Mixin
    ModelOptions model = new ModelOptions();

    @Option(names = {"-p", "--n-prompt"}, split = ",", defaultValue = "512", paramLabel = "N",
            description = "Prompt lengths of the pp tests; 0 skips them (default: ${DEFAULT-VALUE}).")
    int[] prompts;

    @Option(names = {"-n", "--n-gen"}, split = ",", defaultValue = "128", paramLabel = "N",
            description = "Generated tokens of the tg tests; 0 skips them (default: ${DEFAULT-VALUE}).")
    int[] gens;

    @Option(names = {"-r", "--repetitions"}, defaultValue = "5", paramLabel = "N",
            description = "Measured repetitions of each test (default: ${DEFAULT-VALUE}).")
    int repetitions;

    @Option(names = {"-t", "--threads"}, paramLabel = "N",
            description = "Kernel threads (default: one per core).")
    Integer threads;

    @Option(names = {"-o", "--output"}, defaultValue = "md", paramLabel = "md|csv|json",
            description = "Output format (default: ${DEFAULT-VALUE}).")
    String output;

    @Option(names = "--seed", defaultValue = "42",
            description = "Seed of the prompt tokens (default: ${DEFAULT-VALUE}).")
    long seed;

    @Override
    public Integer call() {
        SpeedBenchmark.Format format = switch (output.toLowerCase(Locale.ROOT)) {
            case "md" -> SpeedBenchmark.Format.MD;
            case "csv" -> SpeedBenchmark.Format.CSV;
            case "json" -> SpeedBenchmark.Format.JSON;
            default -> throw new IllegalArgumentException("--output must be md, csv or json, got '" + output + "'");
        };
        if (repetitions < 1) {
            throw new IllegalArgumentException("--repetitions must be at least 1, got " + repetitions);
        }
        if (threads != null) {
            Parallel.setThreadsFromOption("--threads", threads);
        }
        String file = model.model == null ? "<embedded stories260K>" : model.model.toString();
        try (LlamaModel loaded = model.load()) {
            List<SpeedBenchmark.Row> rows = SpeedBenchmark.run(loaded, file, prompts, gens, repetitions, seed,
                    System::nanoTime);
            System.out.print(SpeedBenchmark.format(rows, format, MachineInfo.current()));
        }
        return 0;
    }
}
