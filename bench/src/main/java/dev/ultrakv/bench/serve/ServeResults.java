package dev.ultrakv.bench.serve;

import dev.ultrakv.bench.suite.MachineInfo;

import java.util.Map;

/**
 * Everything a {@code bench serve} run measured, with what it was measured on and against: the content of its
 * {@code results.json}. The top level has the suite's fields ({@code dev.ultrakv.bench.suite.SuiteResults}), so
 * that {@code bench compare} reads both alike; the schema ({@code results.schema.json}) covers both.
 *
 * @param timestamp       when the run began, ISO-8601 with offset
 * @param durationSeconds how long the run took
 * @param quick           always false: {@code bench serve} has no quick mode (the field keeps the suite's shape)
 * @param machine         the machine the load generator ran on
 * @param model           the model the server was asked for and where the server was
 * @param config          the settings and the target
 * @param benchmarks      {@code serve}: the {@link ServeBenchmark.Result}
 */
public record ServeResults(String timestamp, double durationSeconds, boolean quick, MachineInfo machine,
                           ModelInfo model, RunConfig config, Map<String, Object> benchmarks) {

    /**
     * The model as the server named it.
     *
     * @param name          the model name sent (or listed by the server), or {@code unknown}
     * @param source        the server's base URL
     * @param contextLength the context length, or null: a remote server does not say it in the OpenAI API
     */
    public record ModelInfo(String name, String source, Integer contextLength) {
    }

    /**
     * The configuration of the run.
     *
     * @param settings every setting of the load
     * @param target   what was measured, in words
     */
    public record RunConfig(ServeSettings settings, String target) {
    }

    /** The result of the run. */
    public ServeBenchmark.Result result() {
        return (ServeBenchmark.Result) benchmarks.get(ServeBenchmark.KEY);
    }
}
