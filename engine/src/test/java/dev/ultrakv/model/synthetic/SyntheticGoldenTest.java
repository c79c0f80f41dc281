package dev.ultrakv.model.synthetic;

import dev.ultrakv.tensor.GgmlType;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;

import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * Synthetic model files must not change unnoticed: benchmarks and bug reports name a shape, a type and a seed,
 * and expect the same bytes on every machine and JDK.
 *
 * <p>These files were checked with gguf-py 0.19.0 (llama.cpp's own Python package): its {@code GGUFReader}
 * reads them, its {@code quants.quantize} turns the F32 file's weights into exactly the F16, BF16, Q8_0 and
 * Q4_0 tensors here, and its {@code GGUFWriter} writes the same metadata and tensors to identical bytes.
 * If an intended change alters them, re-run that check before updating the hashes.
 */
class SyntheticGoldenTest {

    @TempDir
    Path dir;

    @ParameterizedTest
    @CsvSource({
        "F32,  29244ca2c8825a0669a46fd77c436715f767814d6066f499c1712a08685cda1d",
        "F16,  46b127d2d57408a3e4c471ccfcf115e37f49a78922dfd55b29a5914392cf42c2",
        "BF16, fe05de1fe0f2f9c8b636b92fec37f2b717d544cd0395a618ae465532e206c538",
        "Q8_0, 9b0107511b5c610e94387ee51f3722431654aaf0e3b0c151bcd30af9b7cce604",
        "Q4_0, 010a9961364c93aa2a7817ea776ef655f1186b3e2e0f249e51e26521147039bf",
    })
    void testTiny_seed42_hasKnownBytes(GgmlType dtype, String sha256) throws IOException, NoSuchAlgorithmException {
        Path p = dir.resolve("tiny.gguf");
        SyntheticModel.write(SyntheticShape.TEST_TINY, dtype, 42, p);
        byte[] digest = MessageDigest.getInstance("SHA-256").digest(Files.readAllBytes(p));
        assertEquals(sha256, HexFormat.of().formatHex(digest));
    }
}
