package dev.ultrakv.cli;

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

    LlamaModel load() {
        if (model == null) {
            if (tokenizer != null) {
                throw new IllegalArgumentException("--tokenizer needs --model (the embedded model has its own)");
            }
            return ModelLoader.loadEmbedded();
        }
        return ModelLoader.load(model, tokenizer);
    }
}
