package dev.ultrakv.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.ultrakv.model.gguf.GgufFile;
import dev.ultrakv.model.gguf.GgufTensorInfo;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Every tensor of llama.cpp's quantized test models (ggml-quants/, see its README) dequantizes to ggml's floats bit
 * for bit: the SHA-256 of the tensor as float32 little-endian, read both by {@link FloatTensor#copyTo} (the vector
 * kernels) and element by element by {@link FloatTensor#getFloat}, equals the hash of ggml's own
 * {@code to_float}.
 */
class GgmlDequantizationTest {

    private static final String FOLDER = "ggml-quants/";
    private static final String HASHES = FOLDER + "kq-d256-l2-s11.sha256";

    /** One line of the hash table. */
    record Expected(String tensor, String type, long elements, String sha256) {
    }

    /** The expected tensors of each file, in file order. */
    static Map<String, List<Expected>> expectations() throws IOException {
        Map<String, List<Expected>> byFile = new LinkedHashMap<>();
        try (InputStream in = Objects.requireNonNull(
                GgmlDequantizationTest.class.getClassLoader().getResourceAsStream(HASHES), HASHES)) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] f = line.split("\t");
                byFile.computeIfAbsent(f[0], k -> new ArrayList<>())
                        .add(new Expected(f[1], f[2], Long.parseLong(f[3]), f[4]));
            }
        }
        return byFile;
    }

    static Stream<String> files() throws IOException {
        return expectations().keySet().stream();
    }

    @ParameterizedTest
    @MethodSource("files")
    void everyTensorDequantizesToGgmlsFloats(String file) throws Exception {
        List<Expected> expected = expectations().get(file);
        try (GgufFile gguf = GgufFile.read(resource(FOLDER + file))) {
            assertEquals(expected.size(), gguf.tensors().size(), file + ": tensor count");
            for (Expected e : expected) {
                GgufTensorInfo info = gguf.tensor(e.tensor());
                String where = file + " " + e.tensor();
                assertEquals(e.type().toUpperCase(), info.type().name().toUpperCase(), where + ": type");
                assertEquals(e.elements(), info.elementCount(), where + ": elements");
                FloatTensor t = Tensors.wrap(info.type(), gguf.tensorData(info), info.elementCount());
                float[] copied = new float[Math.toIntExact(e.elements())];
                t.copyTo(0, copied, 0, copied.length);
                assertEquals(e.sha256(), sha256(copied), where + ": copyTo");
                assertEquals(e.sha256(), sha256(TestData.elements(t)), where + ": getFloat");
            }
        }
    }

    private static String sha256(float[] values) throws NoSuchAlgorithmException {
        ByteBuffer bytes = ByteBuffer.allocate(values.length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        bytes.asFloatBuffer().put(values);
        return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes.array()));
    }

    private static Path resource(String name) throws URISyntaxException {
        return Path.of(Objects.requireNonNull(GgmlDequantizationTest.class.getClassLoader().getResource(name), name)
                .toURI());
    }
}
