package dev.ultrakv.model;

import dev.ultrakv.model.llama2c.Llama2cCheckpoint;
import dev.ultrakv.model.synthetic.SyntheticModel;
import dev.ultrakv.model.synthetic.SyntheticShape;
import dev.ultrakv.tensor.GgmlType;
import dev.ultrakv.tokenizer.SentencePieceTokenizer;
import dev.ultrakv.tokenizer.Tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;

/**
 * Loads models: llama2.c checkpoints with their {@code tokenizer.bin}, GGUF files, and the embedded default
 * (stories260K). Model files are memory-mapped, never copied onto the heap.
 */
public final class ModelLoader {
    /** Classpath folder of the embedded default model. */
    private static final String EMBEDDED = "/dev/ultrakv/models/";
    /** The embedded default model's name. */
    public static final String EMBEDDED_NAME = "stories260K";
    /** GGUF files begin with these bytes. */
    private static final int GGUF_MAGIC = 0x46554747;
    /** The tokenizer file llama2.c looks for beside a checkpoint. */
    private static final String LLAMA2C_TOKENIZER = "tokenizer.bin";

    private ModelLoader() {
    }

    /** The embedded stories260K model with its tok512 tokenizer. */
    public static LlamaModel loadEmbedded() {
        byte[] checkpoint = resource(EMBEDDED_NAME + ".bin");
        byte[] tokenizerBytes = resource("tok512.bin");
        Arena arena = Arena.ofShared();
        MemorySegment data = arena.allocate(checkpoint.length, 64);
        MemorySegment.copy(MemorySegment.ofArray(checkpoint), 0, data, 0, checkpoint.length);
        Llama2cCheckpoint ckpt = Llama2cCheckpoint.read(data, Path.of("embedded:" + EMBEDDED_NAME + ".bin"));
        Tokenizer tokenizer = SentencePieceTokenizer.fromLlama2c(tokenizerBytes, ckpt.config().vocabularySize(),
                "embedded:tok512.bin");
        return new LlamaModel(EMBEDDED_NAME, ckpt.config(), ckpt.weights(), tokenizer, arena::close);
    }

    /** A synthetic model of {@code shape}, built in memory (see {@link SyntheticModel}). */
    public static LlamaModel synthetic(SyntheticShape shape, GgmlType dtype, long seed) {
        return GgufModelLoader.load(SyntheticModel.create(shape, dtype, seed), shape.name());
    }

    /**
     * Loads a model file: GGUF (recognised by its magic) or a llama2.c checkpoint.
     *
     * @param tokenizerFile for llama2.c checkpoints, the {@code tokenizer.bin}; when null, the
     *                      {@code tokenizer.bin} beside the checkpoint. Ignored for GGUF, which carries its own.
     * @throws ModelFormatException naming the file and the problem
     */
    public static LlamaModel load(Path modelFile, Path tokenizerFile) {
        requireReadableFile(modelFile);
        if (isGguf(modelFile) || modelFile.getFileName().toString().toLowerCase(java.util.Locale.ROOT)
                .endsWith(".gguf")) {
            return GgufModelLoader.load(modelFile);
        }
        Path tokenizerPath = tokenizerFile != null ? tokenizerFile : siblingTokenizer(modelFile);
        requireReadableFile(tokenizerPath);
        Arena arena = Arena.ofShared();
        try {
            MemorySegment data = map(modelFile, arena);
            Llama2cCheckpoint ckpt = Llama2cCheckpoint.read(data, modelFile);
            Tokenizer tokenizer = SentencePieceTokenizer.fromLlama2c(tokenizerPath, ckpt.config().vocabularySize());
            return new LlamaModel(fileName(modelFile), ckpt.config(), ckpt.weights(), tokenizer, arena::close);
        } catch (RuntimeException e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Reads only the tokenizer a model file uses: from a GGUF file (a model or a vocabulary-only file), without
     * mapping its tensors; for a llama2.c checkpoint, its {@code tokenizer.bin} (given, or beside it) with the
     * vocabulary size the checkpoint's header gives.
     *
     * @throws ModelFormatException naming the file and the problem
     */
    public static Tokenizer loadTokenizer(Path modelFile, Path tokenizerFile) {
        requireReadableFile(modelFile);
        if (isGguf(modelFile)) {
            return GgufModelLoader.loadTokenizer(modelFile);
        }
        try (LlamaModel model = load(modelFile, tokenizerFile)) {
            return model.tokenizer();
        }
    }

    private static Path siblingTokenizer(Path modelFile) {
        Path parent = modelFile.toAbsolutePath().getParent();
        Path candidate = parent.resolve(LLAMA2C_TOKENIZER);
        if (!Files.isRegularFile(candidate)) {
            throw new ModelFormatException(modelFile, "a llama2.c checkpoint needs its tokenizer: pass --tokenizer"
                    + " or put " + LLAMA2C_TOKENIZER + " beside the checkpoint (" + candidate + " does not exist)");
        }
        return candidate;
    }

    static void requireReadableFile(Path file) {
        if (!Files.exists(file)) {
            throw new ModelFormatException(file, "no such file");
        }
        if (!Files.isRegularFile(file)) {
            throw new ModelFormatException(file, "not a regular file");
        }
        if (!Files.isReadable(file)) {
            throw new ModelFormatException(file, "not readable");
        }
    }

    /** Whether the file starts with the GGUF magic. */
    static boolean isGguf(Path file) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer b = ByteBuffer.allocate(4).order(ByteOrder.LITTLE_ENDIAN);
            while (b.hasRemaining() && ch.read(b) >= 0) {
                // read until 4 bytes or end of file
            }
            return b.position() == 4 && b.getInt(0) == GGUF_MAGIC;
        } catch (NoSuchFileException e) {
            throw new ModelFormatException(file, "no such file");
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot be read: " + e.getMessage());
        }
    }

    static MemorySegment map(Path file, Arena arena) {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            return ch.map(FileChannel.MapMode.READ_ONLY, 0, ch.size(), arena);
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot be mapped: " + e.getMessage());
        }
    }

    static String fileName(Path file) {
        String name = file.getFileName().toString();
        int dot = name.lastIndexOf('.');
        return dot > 0 ? name.substring(0, dot) : name;
    }

    private static byte[] resource(String name) {
        try (InputStream in = ModelLoader.class.getResourceAsStream(EMBEDDED + name)) {
            if (in == null) {
                throw new IllegalStateException("the embedded model file " + name + " is missing from the jar");
            }
            return in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("reading the embedded " + name, e);
        }
    }
}
