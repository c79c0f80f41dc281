package dev.ultrakv.model.quantize;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ultrakv.model.gguf.GgufTensorInfo;
import dev.ultrakv.tensor.GgmlType;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;

/**
 * llama.cpp's per-tensor rules on model shapes the kq-d256 fixtures do not have (many layers, grouped-query
 * attention, 70B, experts, rows that are no whole super-blocks); the fixtures check the 2-layer case byte for byte.
 */
class TensorTypeRulesTest {

    private static GgufTensorInfo matrix(String name, long rowLength) {
        return new GgufTensorInfo(name, new long[] {rowLength, 64}, GgmlType.F16, 0);
    }

    private static ModelFacts llama(int layers, int heads, int kvHeads) {
        return new ModelFacts("llama", layers, heads, kvHeads, 0, true, layers);
    }

    /** The type of each layer's {@code tensor} ("attn_v.weight", "ffn_down.weight"), in file order. */
    private static List<GgmlType> perLayer(QuantizeMix mix, ModelFacts facts, String tensor) {
        TensorTypeRules rules = new TensorTypeRules(mix, facts);
        List<GgufTensorInfo> tensors = new ArrayList<>();
        for (int i = 0; i < facts.layers(); i++) {
            tensors.add(matrix("blk." + i + "." + tensor, 4096));
        }
        return TensorTypeRules.llamaCppOrder(tensors).stream().map(rules::typeFor).toList();
    }

    @Test
    void useMoreBits_isTheFirstAndLastEighth_andEveryThirdBetween() {
        List<Integer> more = new ArrayList<>();
        for (int i = 0; i < 32; i++) {
            if (TensorTypeRules.useMoreBits(i, 32)) {
                more.add(i);
            }
        }
        assertEquals(List.of(0, 1, 2, 3, 6, 9, 12, 15, 18, 21, 24, 27, 28, 29, 30, 31), more);
    }

    @Test
    void q4KM_givesQ6KToAttnVAndFfnDown_whereUseMoreBits() {
        List<GgmlType> attnV = perLayer(QuantizeMix.Q4_K_M, llama(32, 32, 32), "attn_v.weight");
        List<GgmlType> ffnDown = perLayer(QuantizeMix.Q4_K_M, llama(32, 32, 32), "ffn_down.weight");
        for (int i = 0; i < 32; i++) {
            GgmlType expected = TensorTypeRules.useMoreBits(i, 32) ? GgmlType.Q6_K : GgmlType.Q4_K;
            assertEquals(expected, attnV.get(i), "attn_v of layer " + i);
            assertEquals(expected, ffnDown.get(i), "ffn_down of layer " + i);
        }
    }

    @Test
    void layersCount_inNumericOrder_notByName() {
        // blk.10 sorts after blk.9 in llama.cpp's order; Q4_K_S gives Q5_K to the first four attn_v only
        List<GgmlType> attnV = perLayer(QuantizeMix.Q4_K_S, llama(12, 8, 8), "attn_v.weight");
        assertEquals(List.of(GgmlType.Q5_K, GgmlType.Q5_K, GgmlType.Q5_K, GgmlType.Q5_K), attnV.subList(0, 4));
        assertTrue(attnV.subList(4, 12).stream().allMatch(t -> t == GgmlType.Q4_K), attnV.toString());
        List<GgufTensorInfo> ordered = TensorTypeRules.llamaCppOrder(List.of(matrix("blk.10.a", 32),
                matrix("output.weight", 32), matrix("blk.9.a", 32), matrix("blk.2.a", 32)));
        assertEquals(List.of("output.weight", "blk.2.a", "blk.9.a", "blk.10.a"),
                ordered.stream().map(GgufTensorInfo::name).toList());
    }

    @Test
    void q3KM_attnV_isQ5KForTwoThenQ4K_andFfnDownQ5KForTheFirstSixteenth() {
        assertEquals(List.of(GgmlType.Q5_K, GgmlType.Q5_K, GgmlType.Q4_K, GgmlType.Q4_K),
                perLayer(QuantizeMix.Q3_K_M, llama(32, 32, 8), "attn_v.weight").subList(0, 4));
        List<GgmlType> ffnDown = perLayer(QuantizeMix.Q3_K_M, llama(32, 32, 8), "ffn_down.weight");
        assertEquals(List.of(GgmlType.Q5_K, GgmlType.Q5_K, GgmlType.Q4_K), ffnDown.subList(0, 3));
    }

    @Test
    void q2K_attnV_followsGroupedQueryAttention() {
        assertEquals(GgmlType.Q4_K, perLayer(QuantizeMix.Q2_K, llama(4, 32, 8), "attn_v.weight").getFirst());
        assertEquals(GgmlType.Q3_K, perLayer(QuantizeMix.Q2_K, llama(4, 32, 16), "attn_v.weight").getFirst());
        assertEquals(GgmlType.Q3_K, perLayer(QuantizeMix.Q2_K, llama(4, 32, 8), "ffn_down.weight").getFirst());
    }

    @Test
    void seventyB_attnV_getsQ5K_andEightExperts_Q8_0() {
        assertTrue(perLayer(QuantizeMix.Q3_K_S, llama(80, 64, 8), "attn_v.weight").stream()
                .allMatch(t -> t == GgmlType.Q5_K));
        ModelFacts moe = new ModelFacts("llama", 4, 32, 8, 8, true, 4);
        assertTrue(perLayer(QuantizeMix.Q4_K_M, moe, "attn_v.weight").stream().allMatch(t -> t == GgmlType.Q8_0));
        assertTrue(perLayer(QuantizeMix.Q4_K_M, moe, "attn_k.weight").stream().allMatch(t -> t == GgmlType.Q8_0));
    }

    @Test
    void outputMatrix_isQ6K_andTheEmbeddingTakesItsPlace_whenThereIsNone() {
        TensorTypeRules withOutput = new TensorTypeRules(QuantizeMix.Q4_0, llama(2, 4, 4));
        assertEquals(GgmlType.Q6_K, withOutput.typeFor(matrix("output.weight", 4096)));
        assertEquals(GgmlType.Q4_0, withOutput.typeFor(matrix("token_embd.weight", 4096)));
        TensorTypeRules tied = new TensorTypeRules(QuantizeMix.Q4_0, new ModelFacts("llama", 2, 4, 4, 0, false, 2));
        assertEquals(GgmlType.Q6_K, tied.typeFor(matrix("token_embd.weight", 4096)));
        TensorTypeRules q8 = new TensorTypeRules(QuantizeMix.Q8_0, llama(2, 4, 4));
        assertEquals(GgmlType.Q8_0, q8.typeFor(matrix("output.weight", 4096)));
    }

    @Test
    void rowsThatAreNoWholeSuperBlocks_fallBackAsLlamaCpp() {
        TensorTypeRules q4 = new TensorTypeRules(QuantizeMix.Q4_K_S, llama(2, 4, 4));
        assertEquals(GgmlType.Q5_0, q4.typeFor(matrix("blk.0.attn_q.weight", 320)));
        assertEquals(GgmlType.Q8_0, q4.typeFor(matrix("output.weight", 320)));
        TensorTypeRules q5 = new TensorTypeRules(QuantizeMix.Q5_K_S, llama(2, 4, 4));
        assertEquals(GgmlType.Q5_1, q5.typeFor(matrix("blk.0.attn_q.weight", 320)));
        TensorTypeRules q6 = new TensorTypeRules(QuantizeMix.Q6_K, llama(2, 4, 4));
        assertEquals(GgmlType.Q8_0, q6.typeFor(matrix("blk.0.attn_q.weight", 320)));
        assertEquals(GgmlType.F16, q6.typeFor(matrix("blk.0.attn_k.weight", 100)));
    }

    @Test
    void rowsWithoutAFallbackUltraKvWrites_areRefused_namingTheTensor() {
        TensorTypeRules q3 = new TensorTypeRules(QuantizeMix.Q3_K_S, llama(2, 4, 4));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> q3.typeFor(matrix("blk.0.attn_q.weight", 320)));
        assertTrue(e.getMessage().contains("blk.0.attn_q.weight") && e.getMessage().contains("IQ4_NL"),
                e.getMessage());
        TensorTypeRules q4 = new TensorTypeRules(QuantizeMix.Q4_0, llama(2, 4, 4));
        IllegalArgumentException legacy = assertThrows(IllegalArgumentException.class,
                () -> q4.typeFor(matrix("blk.0.attn_q.weight", 100)));
        assertTrue(legacy.getMessage().contains("no fallback"), legacy.getMessage());
    }

    @Test
    void normsVectorsAndRouters_areNeverQuantized() {
        assertFalse(TensorTypeRules.quantizes(matrix("blk.0.attn_norm.weight", 4096)));
        assertFalse(TensorTypeRules.quantizes(matrix("blk.0.ffn_gate_inp.weight", 4096)));
        assertFalse(TensorTypeRules.quantizes(matrix("blk.0.attn_q.bias", 4096)));
        assertFalse(TensorTypeRules.quantizes(new GgufTensorInfo("blk.0.x.weight", new long[] {4096, 1},
                GgmlType.F32, 0)));
        assertTrue(TensorTypeRules.quantizes(matrix("blk.0.attn_q.weight", 4096)));
        TensorTypeRules f16 = new TensorTypeRules(QuantizeMix.F16, llama(2, 4, 4));
        GgufTensorInfo norm = new GgufTensorInfo("output_norm.weight", new long[] {4096}, GgmlType.F32, 0);
        assertEquals(GgmlType.F32, f16.typeFor(norm));
    }

    @Test
    void mixNames_parseAsLlamaQuantizeTakesThem() {
        assertEquals(QuantizeMix.Q4_K_M, QuantizeMix.parse("q4_k_m"));
        assertEquals(QuantizeMix.Q4_K_M, QuantizeMix.parse("Q4_K"));
        assertEquals(QuantizeMix.Q3_K_M, QuantizeMix.parse("Q3_K"));
        assertEquals(QuantizeMix.Q5_K_M, QuantizeMix.parse("Q5_K"));
        assertEquals(QuantizeMix.Q8_0, QuantizeMix.parse("7"));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> QuantizeMix.parse("Q7_K"));
        assertTrue(e.getMessage().contains("'Q7_K'") && e.getMessage().contains("Q4_K_M"), e.getMessage());
    }
}
