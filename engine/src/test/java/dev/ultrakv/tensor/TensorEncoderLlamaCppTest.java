package dev.ultrakv.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ultrakv.model.gguf.GgufFile;
import dev.ultrakv.model.gguf.GgufTensorInfo;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * {@link TensorEncoder} against llama.cpp's {@code llama-quantize}: every tensor of llama.cpp's quantized files
 * (cut to 16 rows, see the fixture's README) is what UltraKV writes for the same F32 rows, byte for byte.
 */
class TensorEncoderLlamaCppTest {

    /** The fixtures' folder on the test class path. */
    static final String FIXTURES = "/ggml-quants-r16/";
    /** File name of llama.cpp's file of type (mix) {@code type}. */
    static final String FILE = "kq-d256-l2-s11-r16-%s.gguf";

    static Path fixture(String type) {
        try {
            return Path.of(TensorEncoderLlamaCppTest.class.getResource(FIXTURES + FILE.formatted(type)).toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"F16", "BF16", "Q8_0", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q2_K", "Q3_K_S", "Q3_K_M",
            "Q4_K_S", "Q4_K_M", "Q5_K_S", "Q5_K_M", "Q6_K"})
    void everyQuantizedTensor_isLlamaCppsBytes(String mix) throws IOException {
        try (GgufFile source = GgufFile.read(fixture("F32"));
             GgufFile theirs = GgufFile.read(fixture(mix));
             Arena arena = Arena.ofConfined()) {
            int compared = 0;
            for (GgufTensorInfo t : theirs.tensors()) {
                if (t.type() == GgmlType.F32) {
                    continue;
                }
                float[] x = source.tensorData(t.name()).toArray(ValueLayout.JAVA_FLOAT_UNALIGNED);
                MemorySegment ours = TensorEncoder.encode(t.type(), x, arena);
                long at = ours.mismatch(theirs.tensorData(t));
                assertEquals(-1, at, () -> mix + ": " + t + " differs at byte " + at + ", in block "
                        + at / t.type().blockBytes());
                compared++;
            }
            assertTrue(compared >= 14, mix + " should quantize every matrix; compared " + compared);
        }
    }

    @Test
    void theFixtures_coverEveryQuantizedType() throws IOException {
        Set<GgmlType> seen = EnumSet.noneOf(GgmlType.class);
        for (String mix : new String[] {"Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0", "Q2_K", "Q3_K_M"}) {
            try (GgufFile file = GgufFile.read(fixture(mix))) {
                file.tensors().forEach(t -> seen.add(t.type()));
            }
        }
        for (GgmlType type : GgmlType.values()) {
            if (type.blockSize() > 1) {
                assertTrue(seen.contains(type), type + " is in no llama.cpp fixture");
            }
        }
    }
}
