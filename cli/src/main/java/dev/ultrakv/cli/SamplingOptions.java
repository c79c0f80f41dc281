package dev.ultrakv.cli;

import dev.ultrakv.sampling.Sampler;
import picocli.CommandLine.Option;

/** How the commands that generate text sample it (run.c's defaults), shared by {@code generate} and {@code chat}. */
final class SamplingOptions {
    @Option(names = {"--temperature", "-t"}, defaultValue = "1.0",
            description = "0 for greedy decoding (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = {"--top-p", "-p"}, defaultValue = "0.9",
            description = "Nucleus sampling threshold in [0, 1]; 0 or 1 = off (default: ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--top-k", defaultValue = "0", description = "Keep the k most likely tokens; 0 = off.")
    int topK;

    /** Refuses values the sampler cannot take, naming them. */
    void validate() {
        Sampler.validate(temperature, topP, topK);
    }
}
