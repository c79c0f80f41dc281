package dev.ultrakv.model.gguf;

import dev.ultrakv.tensor.GgmlType;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** A write that fails at any step, the final move included, leaves no {@code <out>.tmp} behind. */
class GgufWriterFailureTest {
    @TempDir
    Path dir;

    private static SequencedMap<String, GgufValue> metadata() {
        SequencedMap<String, GgufValue> m = new LinkedHashMap<>();
        m.put("general.architecture", GgufValue.string("llama"));
        return m;
    }

    private List<String> files() throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void moveOntoANonEmptyDirectory_failsAndRemovesTheTemporaryFile() throws IOException {
        Path target = dir.resolve("model.gguf");
        Files.createDirectory(target);
        Files.writeString(target.resolve("keep"), "x");
        assertThrows(IOException.class, () -> GgufWriter.write(target, metadata(), List.of(), (t, out) -> { }));
        assertEquals(List.of("model.gguf"), files());
    }

    @Test
    void contentThatFails_removesTheTemporaryFile() throws IOException {
        GgufTensorInfo tensor = new GgufTensorInfo("t", new long[] {8}, GgmlType.F32, 0);
        Path target = dir.resolve("model.gguf");
        assertThrows(IOException.class, () -> GgufWriter.write(target, metadata(), List.of(tensor), (t, out) -> {
            throw new IOException("disk full");
        }));
        assertEquals(List.of(), files());
    }
}
