package dev.ultrakv;

import dev.ultrakv.kvcache.KvLayout;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.ModelLoader;
import dev.ultrakv.model.llama2c.Llama2cCheckpoint;
import dev.ultrakv.model.synthetic.SyntheticShape;
import dev.ultrakv.tensor.GgmlType;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * Where an engine's model comes from: the embedded stories260K, a file (llama2.c checkpoint or GGUF), or a
 * synthetic model built in memory. Its {@link #description()} is the model's identity in the KV cache, so
 * two different models never share cached entries. Immutable; loading happens when the engine starts.
 */
public final class ModelSource {
    private final String description;
    private final Loader loader;
    /** The model's K/V shape when known without loading it (embedded, synthetic); null for files. */
    private final KvLayout kvLayout;

    @FunctionalInterface
    private interface Loader {
        LlamaModel load();
    }

    private ModelSource(String description, Loader loader, KvLayout kvLayout) {
        this.description = description;
        this.loader = loader;
        this.kvLayout = kvLayout;
    }

    /** The embedded stories260K model (260K parameters, 512-token vocabulary, context 512). */
    public static ModelSource embedded() {
        return new ModelSource("embedded:" + ModelLoader.EMBEDDED_NAME, ModelLoader::loadEmbedded,
                EMBEDDED_LAYOUT);
    }

    /**
     * A model file: GGUF (with its own tokenizer), or a llama2.c checkpoint with {@code tokenizer.bin} beside it.
     * The file is read when the engine starts; a missing or malformed file fails the engine's construction.
     */
    public static ModelSource file(Path model) {
        Path absolute = model.toAbsolutePath().normalize();
        return new ModelSource("file:" + absolute, () -> ModelLoader.load(absolute, null), null);
    }

    /** A llama2.c checkpoint with its tokenizer file given explicitly. */
    public static ModelSource file(Path model, Path tokenizer) {
        Path absolute = model.toAbsolutePath().normalize();
        Path tokenizerPath = tokenizer.toAbsolutePath().normalize();
        return new ModelSource("file:" + absolute + "|tokenizer:" + tokenizerPath,
                () -> ModelLoader.load(absolute, tokenizerPath), null);
    }

    /** A synthetic model of {@code shape} with float32 weights drawn from {@code seed}. */
    public static ModelSource synthetic(SyntheticShape shape, long seed) {
        Objects.requireNonNull(shape, "shape");
        return new ModelSource("synthetic:" + shape + ":F32:seed=" + seed,
                () -> ModelLoader.synthetic(shape, GgmlType.F32, seed),
                new KvLayout(shape.layers(), shape.heads(), shape.kvHeads(), shape.headSize()));
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

    /**
     * This model with another context length (llama.cpp's {@code --ctx-size}): the same weights; RoPE extends to
     * any position, though quality past the trained length is not promised. A different identity in the cache.
     *
     * @throws IllegalArgumentException if {@code contextLength} is not positive
     */
    public ModelSource withContextLength(int contextLength) {
        if (contextLength <= 0) {
            throw new IllegalArgumentException("context length must be positive, got " + contextLength);
        }
        Loader base = loader;
        return new ModelSource(description + "|context=" + contextLength, () -> {
            LlamaModel model = base.load();
            if (model.config().contextLength() == contextLength) {
                return model;
            }
            try {
                return model.withContextLength(contextLength);
            } catch (RuntimeException e) {
                model.close();
                throw e;
            }
        }, kvLayout);
    }

    /**
     * The model's K/V shape when it is known without loading the model (the embedded and synthetic models), so
     * that {@link KVCacheConfig.Builder#build()} can check the cache's size; empty for files, whose size is
     * checked when the engine starts, before anything is allocated.
     */
    public Optional<KvLayout> kvLayout() {
        return Optional.ofNullable(kvLayout);
    }

    /** Loads the model; the caller closes it. */
    public LlamaModel load() {
        return loader.load();
    }

    /** The embedded model's K/V shape, read from its checkpoint's header. */
    private static final KvLayout EMBEDDED_LAYOUT = embeddedLayout();

    private static KvLayout embeddedLayout() {
        String resource = "/dev/ultrakv/models/" + ModelLoader.EMBEDDED_NAME + ".bin";
        try (InputStream in = ModelSource.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalStateException("the embedded model " + resource + " is missing from the jar");
            }
            byte[] header = in.readNBytes(Llama2cCheckpoint.HEADER_INTS * Integer.BYTES);
            return Llama2cCheckpoint.header(MemorySegment.ofArray(header), Path.of(resource)).kvLayout();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read the embedded model " + resource, e);
        }
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
