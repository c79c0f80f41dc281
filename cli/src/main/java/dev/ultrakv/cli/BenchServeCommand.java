package dev.ultrakv.cli;

import dev.ultrakv.bench.serve.ServeBenchmark;
import dev.ultrakv.bench.serve.ServeReports;
import dev.ultrakv.bench.serve.ServeResults;
import dev.ultrakv.bench.serve.ServeSettings;
import dev.ultrakv.bench.suite.Progress;
import dev.ultrakv.bench.suite.SuiteReports;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code ultrakv bench serve}: a load generator for any OpenAI-compatible server (UltraKV's {@code serve},
 * llama.cpp's {@code llama-server}, vLLM), writing a results directory like the suite's.
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = {"Load an OpenAI-compatible server over HTTP at each concurrency level: TTFT, TPOT, ITL and "
                + "end-to-end percentiles, request and token throughput, cached-token share, errors by status.",
                "Writes results.json, results.csv, report.html and PNG charts (bench compare reads them)."})
final class BenchServeCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--url", required = true, description = "The server's base URL, e.g. http://127.0.0.1:8080.")
    String url;

    @Option(names = "--api-key", description = "Sent as 'Authorization: Bearer KEY' (never written to the results).")
    String apiKey;

    @Option(names = "--model", description = "Model name to send (default: the first of the server's /v1/models).")
    String model;

    @Option(names = "--concurrency", split = ",", defaultValue = "1,8,32",
            description = "Requests in flight, one level after another (default: ${DEFAULT-VALUE}).")
    List<Integer> concurrency;

    @Option(names = "--requests", defaultValue = "100", description = "Requests per level (default: ${DEFAULT-VALUE}).")
    int requests;

    @Option(names = "--max-tokens", defaultValue = "64",
            description = "max_tokens of each request (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = "--workload", arity = "1..2", defaultValue = "random", paramLabel = "KIND [FILE]",
            description = "random, shared-prefix, multi-turn, or trace FILE (a Mooncake JSONL trace) "
                    + "(default: ${DEFAULT-VALUE}).")
    List<String> workload;

    @Option(names = "--stream", description = "Stream (SSE): measures TTFT, TPOT and ITL.")
    boolean stream;

    @Option(names = "--chat", description = "POST /v1/chat/completions instead of /v1/completions.")
    boolean chat;

    @Option(names = "--ignore-eos", description = "Send ignore_eos: true (vLLM, llama.cpp) so every request "
            + "generates --max-tokens.")
    boolean ignoreEos;

    @Option(names = "--temperature", defaultValue = "0", description = "temperature (default: ${DEFAULT-VALUE}).")
    double temperature;

    @Option(names = "--prompt-words", defaultValue = "64",
            description = "Words of a random prompt, of the part after a shared prefix, or of a turn "
                    + "(default: ${DEFAULT-VALUE}).")
    int promptWords;

    @Option(names = "--prefix-words", defaultValue = "256",
            description = "Words of each shared prefix (shared-prefix; default: ${DEFAULT-VALUE}).")
    int prefixWords;

    @Option(names = "--prefixes", defaultValue = "4",
            description = "Distinct shared prefixes (shared-prefix; default: ${DEFAULT-VALUE}).")
    int prefixes;

    @Option(names = "--turns", defaultValue = "4",
            description = "Turns per conversation (multi-turn; default: ${DEFAULT-VALUE}).")
    int turns;

    @Option(names = "--words-per-block", defaultValue = "16",
            description = "Words per Mooncake hash id (trace; default: ${DEFAULT-VALUE}).")
    int wordsPerBlock;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of the prompts (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--warmup-requests", defaultValue = "0", paramLabel = "N",
            description = "Requests sent first at the highest concurrency and not measured, with prompts no level"
                    + " sends: they let both JVMs compile (default: ${DEFAULT-VALUE}).")
    int warmupRequests;

    @Option(names = "--timeout", defaultValue = "60", paramLabel = "SECONDS",
            description = "Per-request timeout (default: ${DEFAULT-VALUE}).")
    double timeout;

    @Option(names = "--deadline", defaultValue = "1800", paramLabel = "SECONDS",
            description = "The whole run's limit: no request is sent after it (default: ${DEFAULT-VALUE}).")
    double deadline;

    @Option(names = "--out", description = "Results directory (default: bench-results/<date-time>).")
    Path out;

    @Override
    public Integer call() {
        ServeSettings settings = settings();
        Path directory = out != null ? out : SuiteReports.defaultDirectory();
        System.err.printf("ultrakv bench serve: %s, %s, levels %s x %d requests -> %s%n", settings.endpoint(),
                settings.workload(), settings.concurrencyLevels(), settings.requests(), directory);
        ServeResults results = ServeBenchmark.run(settings, apiKey, Progress.onStandardError(), System::nanoTime);
        ServeReports.write(results, directory);
        System.out.print(ServeReports.summary(results));
        System.out.printf("results: %s, %.0f s%n", directory.resolve(SuiteReports.HTML), results.durationSeconds());
        int completed = results.result().levels().stream().mapToInt(ServeBenchmark.Level::completed).sum();
        if (completed == 0) {
            System.err.println("ultrakv: bench serve: no request completed; is an OpenAI-compatible server running at "
                    + settings.url() + "?");
            return UltraKvCli.EXIT_USER_ERROR;
        }
        return 0;
    }

    private ServeSettings settings() {
        String kind = workload.getFirst();
        if (workload.size() > 2 || (workload.size() == 2) != kind.equals("trace")) {
            throw new ParameterException(spec.commandLine(), "--workload takes random, shared-prefix, multi-turn or "
                    + "trace FILE: " + String.join(" ", workload));
        }
        return ServeSettings.builder(url).model(model).chat(chat).stream(stream).ignoreEos(ignoreEos)
                .concurrencyLevels(concurrency).requests(requests).maxTokens(maxTokens).temperature(temperature)
                .workload(kind, workload.size() == 2 ? workload.get(1) : null).promptWords(promptWords)
                .prefixWords(prefixWords).prefixes(prefixes).turns(turns).wordsPerBlock(wordsPerBlock).seed(seed)
                .warmupRequests(warmupRequests)
                .timeoutSeconds(timeout).deadlineSeconds(deadline).build();
    }
}
