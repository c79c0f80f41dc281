package dev.ultrakv.model;

import dev.ultrakv.model.gguf.GgufFile;
import dev.ultrakv.model.gguf.GgufTensorInfo;
import dev.ultrakv.model.gguf.GgufValue;
import dev.ultrakv.model.synthetic.SyntheticFamily;
import dev.ultrakv.model.synthetic.SyntheticModel;
import dev.ultrakv.model.synthetic.SyntheticShape;
import dev.ultrakv.tensor.GgmlType;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * What the loader reads of each family, and what it refuses: an unknown architecture, a missing or mis-shaped
 * tensor, a missing hyper-parameter, an unsupported RoPE scaling, each with a message naming it.
 */
class ArchitectureLoadingTest {
    private static final long SEED = 3;

    /** Loads {@code shape}'s synthetic F32 file after {@code editMetadata} and {@code editTensors} changed it. */
    private static LlamaModel load(SyntheticShape shape, Consumer<SequencedMap<String, GgufValue>> editMetadata,
                                   Consumer<List<GgufTensorInfo>> editTensors) {
        GgufFile base = SyntheticModel.create(shape, GgmlType.F32, SEED);
        SequencedMap<String, GgufValue> metadata = new LinkedHashMap<>(base.metadata());
        List<GgufTensorInfo> tensors = new ArrayList<>(base.tensors());
        editMetadata.accept(metadata);
        editTensors.accept(tensors);
        try {
            GgufFile edited = GgufFile.of("<edited " + shape.name() + ">", metadata, tensors, base.data());
            return GgufModelLoader.load(edited, shape.name());
        } finally {
            base.close();
        }
    }

    private static void assertRefused(SyntheticShape shape, Consumer<SequencedMap<String, GgufValue>> editMetadata,
                                      Consumer<List<GgufTensorInfo>> editTensors, String... fragments) {
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> load(shape, editMetadata, editTensors).close());
        for (String fragment : fragments) {
            assertTrue(e.getMessage().contains(fragment), "should mention '" + fragment + "': " + e.getMessage());
        }
    }

    private static Consumer<List<GgufTensorInfo>> without(String name) {
        return tensors -> assertTrue(tensors.removeIf(t -> t.name().equals(name)), name);
    }

    private static Consumer<List<GgufTensorInfo>> reshaped(String name, long... shape) {
        return tensors -> tensors.replaceAll(t -> t.name().equals(name)
                ? new GgufTensorInfo(name, shape, t.type(), t.offset()) : t);
    }

    private static <T> Consumer<T> unchanged() {
        return x -> { };
    }

    @Test
    void eachFamily_readsItsDetails() {
        try (LlamaModel qwen3 = ModelLoader.synthetic(SyntheticShape.TEST_QWEN3, GgmlType.F32, SEED);
             LlamaModel qwen2 = ModelLoader.synthetic(SyntheticShape.TEST_QWEN2, GgmlType.F32, SEED);
             LlamaModel phi3 = ModelLoader.synthetic(SyntheticShape.TEST_PHI3, GgmlType.F32, SEED);
             LlamaModel llama3 = ModelLoader.synthetic(SyntheticShape.TEST_LLAMA3, GgmlType.F32, SEED);
             LlamaModel llama = ModelLoader.synthetic(SyntheticShape.TEST_TINY, GgmlType.F32, SEED)) {
            assertEquals(32, qwen3.config().headSize());
            assertEquals(128, qwen3.config().qDim());
            assertNotNull(qwen3.weights().qNorm());
            assertNull(qwen3.weights().qBias());
            assertEquals(RopeStyle.HALVES, qwen3.config().ropeStyle());
            assertNotNull(qwen2.weights().qBias());
            assertEquals(RopeStyle.HALVES, qwen2.config().ropeStyle());
            assertEquals(8, phi3.config().slidingWindow());
            assertEquals(RopeStyle.HALVES, phi3.config().ropeStyle());
            assertArrayEquals(SyntheticModel.llama3RopeFactors(500000f, 16), llama3.weights().ropeFactors());
            assertEquals(500000f, llama3.config().ropeTheta());
            assertEquals(RopeStyle.ADJACENT_PAIRS, llama.config().ropeStyle());
            assertEquals(LlamaConfig.NO_WINDOW, llama.config().slidingWindow());
            assertNull(llama.weights().ropeFactors());
        }
    }

    @Test
    void unknownArchitecture_isRefusedNamingItAndTheSupportedOnes() {
        assertRefused(SyntheticShape.TEST_TINY, m -> m.put("general.architecture", GgufValue.string("gemma3")),
                unchanged(), "unsupported architecture 'gemma3' (supported: llama, qwen2, qwen3, phi3, gemma2)");
    }

    @Test
    void gemma2_readsItsScalesCapsPostNormsAndAlternatingWindow() {
        try (LlamaModel gemma = ModelLoader.synthetic(SyntheticShape.TEST_GEMMA2, GgmlType.F32, SEED)) {
            LlamaConfig c = gemma.config();
            assertEquals(new GemmaTraits(8f, 1f, 50f, 30f), c.gemma(), "√64, the 2B/9B query scale, caps");
            assertEquals(32, c.headSize());
            assertTrue(c.sharedClassifier());
            assertSame(gemma.weights().tokenEmbedding(), gemma.weights().classifier());
            assertEquals(8, c.windowOf(0));
            assertEquals(LlamaConfig.NO_WINDOW, c.windowOf(1));
            assertEquals(8, c.windowOf(24));
            assertNotNull(gemma.weights().postAttentionNorm());
            assertNotNull(gemma.weights().postFfnNorm());
            assertEquals(RopeStyle.HALVES, c.ropeStyle());
        }
    }

    @Test
    void gemma2_withoutItsOptionalKeys_takesLlamaCppsDefaults() {
        try (LlamaModel gemma = load(SyntheticShape.TEST_GEMMA2, m -> {
            m.remove("gemma2.attention.sliding_window");
            m.remove("gemma2.attn_logit_softcapping");
            m.put("gemma2.final_logit_softcapping", GgufValue.float32(15f));
        }, unchanged())) {
            assertEquals(4096, gemma.config().slidingWindow());
            assertEquals(50f, gemma.config().gemma().attentionSoftCap());
            assertEquals(15f, gemma.config().gemma().finalSoftCap());
        }
    }

    @Test
    void gemma2_27bScalesItsQueriesByDimOverHeads() {
        SyntheticShape gemma27b = new SyntheticShape("gemma2-27b-tiny", 64, 46, 4, 2, 96, 384, 128,
                SyntheticFamily.gemma2(32, 8));
        try (LlamaModel gemma = ModelLoader.synthetic(gemma27b, GgmlType.F32, SEED)) {
            assertEquals((float) Math.sqrt(32.0 / 16), gemma.config().gemma().queryScale());
        }
    }

    @Test
    void gemma2_withoutAPostNorm_isRefusedNamingIt() {
        assertRefused(SyntheticShape.TEST_GEMMA2, unchanged(), without("blk.3.post_ffw_norm.weight"),
                "blk.3.post_ffw_norm.weight");
    }

    @Test
    void gemma2_nonPositiveSoftCap_isRefusedNamingTheKey() {
        assertRefused(SyntheticShape.TEST_GEMMA2,
                m -> m.put("gemma2.attn_logit_softcapping", GgufValue.float32(0f)), unchanged(),
                "gemma2.attn_logit_softcapping must be a positive finite number: 0.0");
    }

    @Test
    void missingBias_isRefusedNamingTheTensor() {
        assertRefused(SyntheticShape.TEST_QWEN2, unchanged(), without("blk.1.attn_k.bias"), "blk.1.attn_k.bias");
    }

    @Test
    void misShapedHeadNorm_isRefusedNamingTheTensorAndItsSize() {
        assertRefused(SyntheticShape.TEST_QWEN3, unchanged(), reshaped("blk.0.attn_q_norm.weight", 16),
                "blk.0.attn_q_norm.weight has 16 elements, expected 32");
    }

    @Test
    void misShapedFusedMatrix_isRefusedNamingItsShape() {
        assertRefused(SyntheticShape.TEST_PHI3, unchanged(), reshaped("blk.1.attn_qkv.weight", 64, 128),
                "blk.1.attn_qkv.weight has shape [64, 128], expected [64, 192]");
    }

    @Test
    void missingHyperParameter_isRefusedNamingTheKey() {
        assertRefused(SyntheticShape.TEST_QWEN2, m -> m.remove("qwen2.attention.head_count"), unchanged(),
                "qwen2.attention.head_count");
    }

    @Test
    void phi3WithoutSlidingWindow_isRefusedNamingTheKey() {
        assertRefused(SyntheticShape.TEST_PHI3, m -> m.remove("phi3.attention.sliding_window"), unchanged(),
                "phi3.attention.sliding_window is missing");
    }

    @Test
    void yarnScaling_isRefusedNamingTheKeyAndType() {
        assertRefused(SyntheticShape.TEST_QWEN2, m -> m.put("qwen2.rope.scaling.type", GgufValue.string("yarn")),
                unchanged(), "qwen2.rope.scaling.type 'yarn' is not supported");
    }

    @Test
    void nonPositiveRopeFactor_isRefusedNamingTheTensorAndIndex() {
        GgufFile base = SyntheticModel.create(SyntheticShape.TEST_LLAMA3, GgmlType.F32, SEED);
        try {
            GgufTensorInfo factors = base.tensor("rope_freqs.weight");
            base.tensorData(factors).setAtIndex(java.lang.foreign.ValueLayout.JAVA_FLOAT_UNALIGNED, 3, 0f);
            ModelFormatException e = assertThrows(ModelFormatException.class,
                    () -> GgufModelLoader.load(base, "zero factor").close());
            assertTrue(e.getMessage().contains("rope_freqs.weight has factor 0.0 at 3"), e.getMessage());
        } finally {
            base.close();
        }
    }

    @Test
    void linearRopeScaling_dividesPositionsByTheFactor() {
        try (LlamaModel scaled = load(SyntheticShape.TEST_QWEN2, m -> {
            m.put("qwen2.rope.scaling.type", GgufValue.string("linear"));
            m.put("qwen2.rope.scaling.factor", GgufValue.float32(4f));
        }, unchanged())) {
            assertEquals(0.25f, scaled.config().ropeScale());
            RotaryEmbedding rope = new RotaryEmbedding(scaled.config(), null);
            RotaryEmbedding plain = new RotaryEmbedding(scaled.config().withRopeScale(1f), null);
            float[] atEight = new float[scaled.config().qDim()];
            for (int i = 0; i < atEight.length; i++) {
                atEight[i] = (float) Math.sin(i);
            }
            float[] atTwo = atEight.clone();
            rope.rotate(atEight, 0, scaled.config().heads(), 8);
            plain.rotate(atTwo, 0, scaled.config().heads(), 2);
            assertArrayEquals(atTwo, atEight);
        }
    }
}
