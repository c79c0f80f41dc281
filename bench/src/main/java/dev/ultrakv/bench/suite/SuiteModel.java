package dev.ultrakv.bench.suite;

import dev.ultrakv.ModelSource;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.ModelLoader;
import dev.ultrakv.tokenizer.Tokenizer;

import java.nio.file.Path;
import java.util.Objects;

/**
 * The model the suite runs: where the engines load it from, and its tokenizer and context length, which the
 * suite needs to write prompts of known token counts and to size caches.
 *
 * @param source        what every engine of the suite loads
 * @param name          the model's name, for reports
 * @param tokenizer     the model's tokenizer (thread-safe, kept after the model it came from is closed)
 * @param contextLength the model's context length in tokens
 */
public record SuiteModel(ModelSource source, String name, Tokenizer tokenizer, int contextLength) {

    /** Checks the values. */
    public SuiteModel {
        Objects.requireNonNull(source, "source");
        Objects.requireNonNull(tokenizer, "tokenizer");
    }

    /** The embedded stories260K. */
    public static SuiteModel embedded() {
        try (LlamaModel model = ModelLoader.loadEmbedded()) {
            return new SuiteModel(ModelSource.embedded(), model.name(), model.tokenizer(),
                    model.config().contextLength());
        }
    }

    /**
     * A model file (GGUF, or a llama2.c checkpoint with {@code tokenizer} or the {@code tokenizer.bin} beside it).
     *
     * @param tokenizer null for the one beside the checkpoint (or inside the GGUF file)
     */
    public static SuiteModel file(Path model, Path tokenizer) {
        try (LlamaModel loaded = ModelLoader.load(model, tokenizer)) {
            ModelSource source = tokenizer == null ? ModelSource.file(model) : ModelSource.file(model, tokenizer);
            return new SuiteModel(source, loaded.name(), loaded.tokenizer(), loaded.config().contextLength());
        }
    }

    /** Tokens of {@code text} as the engine counts them (BOS included). */
    public int tokens(String text) {
        return tokenizer.encode(text, true).length;
    }
}
