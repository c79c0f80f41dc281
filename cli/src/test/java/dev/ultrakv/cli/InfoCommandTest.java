package dev.ultrakv.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.ModelLoader;
import dev.ultrakv.model.synthetic.SyntheticShape;
import dev.ultrakv.tensor.FloatTensor;
import dev.ultrakv.tensor.GgmlType;
import dev.ultrakv.tensor.Tensors;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class InfoCommandTest {

    /** K-quant mixes put some layers' tensors in another type: info names the layers of each. */
    @Test
    void describe_namesTheLayersOfEachType_whenLayersMixTypes() {
        try (Arena arena = Arena.ofConfined()) {
            FloatTensor[] layers = {zeros(GgmlType.Q4_K, arena), zeros(GgmlType.Q6_K, arena),
                    zeros(GgmlType.Q4_K, arena)};
            assertEquals("Q4_K in layers 0 2, Q6_K in layer 1; 512 elements", InfoCommand.describe(layers));
            FloatTensor[] uniform = {zeros(GgmlType.Q6_K, arena), zeros(GgmlType.Q6_K, arena)};
            assertEquals("Q6_K, 512 elements, 420 bytes", InfoCommand.describe(uniform));
        }
    }

    @Test
    void print_showsTheFilesDeclaredWeightMix() {
        try (LlamaModel model = ModelLoader.synthetic(SyntheticShape.TEST_TINY, GgmlType.Q8_0, 5)) {
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            InfoCommand.print(model, new PrintStream(bytes, true, StandardCharsets.UTF_8));
            String out = bytes.toString(StandardCharsets.UTF_8);
            assertTrue(out.contains("file_type:           Q8_0\n"), out);
            assertTrue(out.contains("  wq                 Q8_0, "), out);
        }
    }

    /** 512 elements of {@code type}, all zero blocks (a zero scale decodes every level to zero). */
    private static FloatTensor zeros(GgmlType type, Arena arena) {
        return Tensors.wrap(type, arena.allocate(type.bytesFor(512)), 512);
    }
}
