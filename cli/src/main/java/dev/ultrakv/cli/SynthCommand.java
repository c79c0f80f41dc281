package dev.ultrakv.cli;

import dev.ultrakv.model.synthetic.SyntheticModel;
import dev.ultrakv.model.synthetic.SyntheticShape;
import dev.ultrakv.tensor.GgmlType;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/** {@code ultrakv synth}: writes a synthetic model (seeded random weights, real shapes) as a GGUF file. */
@Command(name = "synth", mixinStandardHelpOptions = true,
        description = "Write a synthetic Llama model (seeded random weights, real shapes) as GGUF.")
final class SynthCommand implements Callable<Integer> {
    @Option(names = "--shape", required = true, paramLabel = "NAME",
            description = "A named shape: test-tiny, test-small, llama-110m, llama-1b-gqa; test-llama3, llama3.2-1b,"
                    + " test-mistral, test-qwen2, qwen2.5-0.5b, test-qwen3, qwen3-0.6b, test-phi3, phi3-mini.")
    String shape;

    @Option(names = "--dtype", defaultValue = "f32", paramLabel = "TYPE",
            description = "Weight type: f32, f16, bf16, q8_0, q4_0, q4_1, q5_0, q5_1, q2_k, q3_k, q4_k, q5_k or q6_k"
                    + " (default: ${DEFAULT-VALUE}); the K-quants need dim and ffn multiples of 256.")
    String dtype;

    @Option(names = "--seed", defaultValue = "42", description = "Seed of the weights (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--out", required = true, paramLabel = "FILE.gguf", description = "Where to write the model.")
    Path out;

    @Override
    public Integer call() {
        SyntheticShape s = SyntheticShape.named(shape);
        GgmlType type = parseType(dtype);
        if (!SyntheticModel.supports(s, type)) {
            throw new IllegalArgumentException("--dtype " + dtype + " cannot store shape " + shape
                    + " (quantized rows must be whole blocks of " + type.blockSize() + ")");
        }
        if (Files.isDirectory(out)) {
            throw new IllegalArgumentException("--out " + out + " is a directory; name the .gguf file to write");
        }
        Path parent = out.toAbsolutePath().getParent();
        if (parent != null && !Files.isDirectory(parent)) {
            throw new IllegalArgumentException("--out " + out + ": the folder " + parent + " does not exist");
        }
        long start = System.nanoTime();
        try {
            SyntheticModel.write(s, type, seed, out);
            System.err.printf(Locale.ROOT, "wrote %s (%s, %s, seed %d, %,d parameters, %,d bytes) in %.1f s%n",
                    out, s.name(), type, seed, s.parameterCount(), Files.size(out), (System.nanoTime() - start) / 1e9);
        } catch (IOException e) {
            throw new UncheckedIOException(out + ": cannot be written: " + reason(e), e);
        }
        return 0;
    }

    /**
     * What went wrong, in words: file-system exceptions often carry only the path as their message (a
     * DirectoryNotEmptyException says "/tmp/x"), so their kind is spelled out ("directory not empty").
     */
    static String reason(IOException e) {
        if (e instanceof FileSystemException f && f.getReason() == null) {
            String kind = f.getClass().getSimpleName().replaceFirst("Exception$", "");
            return kind.replaceAll("([a-z])([A-Z])", "$1 $2").toLowerCase(Locale.ROOT) + ": " + f.getFile();
        }
        return e.getMessage();
    }

    static GgmlType parseType(String name) {
        for (GgmlType t : GgmlType.values()) {
            if (t.name().equalsIgnoreCase(name)) {
                return t;
            }
        }
        throw new IllegalArgumentException("unknown --dtype '" + name + "' (known: " + Arrays.stream(GgmlType.values())
                .map(t -> t.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(", ")) + ")");
    }
}
