package dev.ultrakv;

import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.ModelLoader;
import dev.ultrakv.model.synthetic.SyntheticShape;
import dev.ultrakv.tensor.GgmlType;

import java.nio.file.Path;
import java.util.Objects;

/**
 * Where an engine's model comes from: the embedded stories260K, a file (llama2.c checkpoint or GGUF), or a
 * synthetic model built in memory. Its {@link #description()} is the model's identity in the KV cache, so
 * two different models never share cached entries. Immutable; loading happens when the engine starts.
 */
public final class ModelSource {
    private final String description;
    private final Loader loader;

    @FunctionalInterface
    private interface Loader {
        LlamaModel load();
    }

    private ModelSource(String description, Loader loader) {
        this.description = description;
        this.loader = loader;
    }

    /** The embedded stories260K model (260K parameters, 512-token vocabulary, context 512). */
    public static ModelSource embedded() {
        return new ModelSource("embedded:" + ModelLoader.EMBEDDED_NAME, ModelLoader::loadEmbedded);
    }

    /**
     * A model file: GGUF (with its own tokenizer), or a llama2.c checkpoint with {@code tokenizer.bin} beside it.
     * The file is read when the engine starts; a missing or malformed file fails the engine's construction.
     */
    public static ModelSource file(Path model) {
        Path absolute = model.toAbsolutePath().normalize();
        return new ModelSource("file:" + absolute, () -> ModelLoader.load(absolute, null));
    }

    /** A llama2.c checkpoint with its tokenizer file given explicitly. */
    public static ModelSource file(Path model, Path tokenizer) {
        Path absolute = model.toAbsolutePath().normalize();
        Path tokenizerPath = tokenizer.toAbsolutePath().normalize();
        return new ModelSource("file:" + absolute + "|tokenizer:" + tokenizerPath,
                () -> ModelLoader.load(absolute, tokenizerPath));
    }

    /** A synthetic model of {@code shape} with float32 weights drawn from {@code seed}. */
    public static ModelSource synthetic(SyntheticShape shape, long seed) {
        Objects.requireNonNull(shape, "shape");
        return new ModelSource("synthetic:" + shape + ":F32:seed=" + seed,
                () -> ModelLoader.synthetic(shape, GgmlType.F32, seed));
    }

    /**
     * A synthetic model of a named shape ({@code test-tiny}, {@code test-small}, {@code llama-110m},
     * {@code llama-1b-gqa}).
     *
     * @throws IllegalArgumentException if no shape has that name
     */
    public static ModelSource synthetic(String shapeName, long seed) {
        return synthetic(SyntheticShape.named(shapeName), seed);
    }

    /** The model's identity: where it comes from, precisely enough that different models differ. */
    public String description() {
        return description;
    }

    /** Loads the model; the caller closes it. */
    public LlamaModel load() {
        return loader.load();
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof ModelSource other && description.equals(other.description);
    }

    @Override
    public int hashCode() {
        return description.hashCode();
    }

    @Override
    public String toString() {
        return description;
    }
}
