package dev.ultrakv.bench.suite;

import com.fasterxml.jackson.annotation.JsonInclude;

import java.util.List;
import java.util.Map;

/**
 * Everything a suite run measured, with what it was measured on: the content of {@code results.json} (its
 * schema is {@code results.schema.json} beside this class).
 *
 * @param timestamp       when the run began, ISO-8601 with offset
 * @param durationSeconds how long the benchmarks took
 * @param quick           whether the counts were {@code --quick}'s (not comparable with a full run)
 * @param machine         the machine and software
 * @param model           the model's name and where it came from
 * @param config          the settings and the default engine configuration
 * @param benchmarks      each benchmark's result record by its name, in the order run
 * @param tiers           with KV tiers, what the tiers did for each engine of each benchmark, by the benchmark's
 *                        name ({@code warm-up} first); null without tiers, and then absent from the JSON
 */
public record SuiteResults(String timestamp, double durationSeconds, boolean quick, MachineInfo machine,
                           ModelInfo model, RunConfig config, Map<String, Object> benchmarks,
                           @JsonInclude(JsonInclude.Include.NON_NULL) Map<String, List<EngineTierFigures>> tiers) {

    /**
     * The model.
     *
     * @param name          its name
     * @param source        where it was loaded from
     * @param contextLength its context length
     */
    public record ModelInfo(String name, String source, int contextLength) {
    }

    /**
     * The configuration of the run.
     *
     * @param settings     every count and list
     * @param engineConfig the engine configuration of the latency, throughput, batch and memory benchmarks,
     *                     without its tiers
     * @param tiers        the KV tiers below memory that every engine got, one line each in the order asked;
     *                     empty without tiers, and then absent from the JSON
     */
    public record RunConfig(SuiteSettings settings, String engineConfig,
                            @JsonInclude(JsonInclude.Include.NON_EMPTY) List<String> tiers) {

        /** Copies the list. */
        public RunConfig {
            tiers = List.copyOf(tiers);
        }
    }
}
