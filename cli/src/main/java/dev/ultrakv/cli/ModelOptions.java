package dev.ultrakv.cli;

import dev.ultrakv.ModelInfo;
import dev.ultrakv.ModelSource;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.ModelLoader;
import picocli.CommandLine.Option;

import java.nio.file.Path;

/** The options that choose a model, shared by the commands that run one. */
final class ModelOptions {
    @Option(names = "--model", paramLabel = "PATH",
            description = "A GGUF file or a llama2.c checkpoint (default: the embedded stories260K).")
    Path model;

    @Option(names = "--tokenizer", paramLabel = "PATH",
            description = "The tokenizer.bin of a llama2.c checkpoint (default: tokenizer.bin beside it).")
    Path tokenizer;

    @Option(names = {"--context-length", "-c"}, paramLabel = "N",
            description = "Override the model's context length (default: the one it was trained for).")
    Integer contextLength;

    /** Where the model comes from, with the context length asked for: what an engine loads. */
    ModelSource source() {
        check();
        ModelSource source = model == null ? ModelSource.embedded()
                : tokenizer == null ? ModelSource.file(model) : ModelSource.file(model, tokenizer);
        return contextLength == null ? source : source.withContextLength(contextLength);
    }

    /** Warns when the context asked for is longer than the one the model was trained for. */
    static void warnIfBeyondTraining(ModelInfo info) {
        warnIfBeyondTraining(info.contextLength(), info.trainedContextLength(), info.name());
    }

    private static void warnIfBeyondTraining(int contextLength, int trainedContextLength, String name) {
        if (contextLength > trainedContextLength) {
            System.err.printf("ultrakv: warning: context length %d is longer than the %d tokens %s was trained"
                    + " on%n", contextLength, trainedContextLength, name);
        }
    }

    private void check() {
        if (contextLength != null && contextLength <= 0) {
            throw new IllegalArgumentException("--context-length must be positive, got " + contextLength);
        }
        if (model == null && tokenizer != null) {
            throw new IllegalArgumentException("--tokenizer needs --model (the embedded model has its own)");
        }
    }

    LlamaModel load() {
        check();
        LlamaModel loaded = model == null ? ModelLoader.loadEmbedded() : ModelLoader.load(model, tokenizer);
        if (contextLength == null || contextLength == loaded.config().contextLength()) {
            return loaded;
        }
        warnIfBeyondTraining(contextLength, loaded.config().contextLength(), loaded.name());
        return loaded.withContextLength(contextLength);
    }
}
