package dev.ultrakv.model.quantize;

import dev.ultrakv.model.gguf.GgufTensorInfo;
import dev.ultrakv.tensor.GgmlType;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/**
 * Which type each tensor gets in a {@link QuantizeMix}: llama.cpp's rules ({@code llama_model_quantize_impl}
 * decides which tensors are quantized at all, {@code llama_tensor_get_type} refines the base type of the
 * quantized mixes), for the mixes UltraKV writes. Without an importance matrix and without
 * {@code --pure}, {@code --leave-output-tensor} or per-tensor overrides.
 *
 * <p>The rules count tensors as they go (the i-th {@code attn_v}, the i-th {@code ffn_down}), so one instance
 * decides one file, and {@link #typeFor} must be called in llama.cpp's order ({@link #llamaCppOrder}).
 *
 * <h2>The rules</h2>
 * Quantized are tensors whose name ends in {@code weight}, of two or more dimensions, except {@code *_norm.weight},
 * {@code *ffn_gate_inp.weight}, {@code position_embd.weight}, {@code token_types.weight}, {@code *ssm_conv1d.weight},
 * {@code *attn_rel_b.weight} and the RWKV {@code time_mix_*} weights; the rest are copied unchanged. In the
 * quantized mixes ({@code use_more_bits(i, n)}: {@code i < n/8 || i >= 7n/8 || (i - n/8) % 3 == 2}):
 * <ul>
 *   <li>{@code output.weight} (or {@code token_embd.weight} when there is no output matrix): Q6_K, or Q8_0 in
 *       Q8_0 and when the rows are no whole blocks of the base type (and for falcon).</li>
 *   <li>{@code attn_v}: Q2_K: Q4_K with 4 or more query heads per KV head, else Q3_K; Q3_K_M: Q5_K for the first
 *       two, then Q4_K; Q3_K_L: Q5_K; Q4_K_M, Q5_K_M: Q6_K where use_more_bits; Q4_K_S: Q5_K for the first four.
 *       70B models: Q3_K and Q4_K become Q5_K; 8-expert models: Q8_0.</li>
 *   <li>{@code attn_k}: 8-expert models: Q8_0.</li>
 *   <li>{@code ffn_down} (layer i of n): Q2_K: Q3_K; Q3_K_M: Q5_K for i < n/16, then Q4_K (falcon: Q4_K only
 *       where use_more_bits, else Q3_K); Q3_K_L: Q5_K (falcon: Q4_K); Q4_K_M: Q6_K where use_more_bits (falcon:
 *       Q6_K for i < n/16, Q5_K where use_more_bits); Q5_K_M: Q6_K where use_more_bits; Q4_K_S: Q5_K for
 *       i < n/8 (not falcon).</li>
 *   <li>{@code attn_output}: Q2_K: Q3_K; Q3_K_M: Q4_K; Q3_K_L: Q5_K (falcon: Q3_K_L: Q4_K); 8-expert models:
 *       Q5_K in Q2_K, Q3_K_S/M, Q4_K_S/M.</li>
 *   <li>{@code attn_qkv}: Q3_K_M, Q3_K_L: Q4_K; Q4_K_M: Q5_K; Q5_K_M: Q6_K.</li>
 *   <li>Rows that are no whole blocks of the chosen type fall back: Q4_K to Q5_0, Q5_K to Q5_1, Q6_K to Q8_0,
 *       then to F16 if still no whole blocks. llama.cpp's fallback for Q2_K and Q3_K is IQ4_NL, which UltraKV
 *       does not write, and the legacy types have none: such tensors are refused.</li>
 * </ul>
 */
public final class TensorTypeRules {

    /** The output matrix's name. */
    static final String OUTPUT = "output.weight";
    /** The token embedding's name. */
    static final String TOKEN_EMBD = "token_embd.weight";

    /** Name parts of tensors llama.cpp never quantizes. */
    private static final List<String> NEVER_QUANTIZED = List.of("_norm.weight", "ffn_gate_inp.weight",
            "ssm_conv1d.weight", "time_mix_first.weight", "time_mix_w1.weight", "time_mix_w2.weight",
            "time_mix_decay_w1.weight", "time_mix_decay_w2.weight", "time_mix_lerp_fused.weight",
            "attn_rel_b.weight");

    private final QuantizeMix mix;
    private final ModelFacts facts;
    private final boolean falcon;
    private int attentionWv;
    private int ffnDown;

    /** Rules for one file with {@code facts} quantized to {@code mix}. */
    public TensorTypeRules(QuantizeMix mix, ModelFacts facts) {
        this.mix = mix;
        this.facts = facts;
        this.falcon = facts.arch().equals("falcon");
    }

    /**
     * {@code tensors} in the order llama.cpp writes them (its {@code weight_name_comparer}): tensors outside
     * the blocks first, then block 0, 1, ...; by name within each.
     */
    public static List<GgufTensorInfo> llamaCppOrder(List<GgufTensorInfo> tensors) {
        List<GgufTensorInfo> sorted = new ArrayList<>(tensors);
        sorted.sort(Comparator.comparingInt((GgufTensorInfo t) -> blockOf(t.name())).thenComparing(
                GgufTensorInfo::name));
        return sorted;
    }

    /** Whether llama.cpp quantizes {@code t} at all (else it is copied unchanged). */
    public static boolean quantizes(GgufTensorInfo t) {
        String name = t.name();
        if (!name.endsWith("weight") || dimensions(t.shape()) < 2) {
            return false;
        }
        if (name.equals("position_embd.weight") || name.equals("token_types.weight")) {
            return false;
        }
        return NEVER_QUANTIZED.stream().noneMatch(name::contains);
    }

    /**
     * The type {@code t} gets: its own type when it is not quantized, else the mix's base type refined by the
     * rules. Call for every tensor, in {@link #llamaCppOrder}.
     *
     * @throws IllegalArgumentException if the rows of {@code t} are no whole blocks of the chosen type and
     *                                  llama.cpp's fallback is a type UltraKV does not write (or there is none)
     */
    public GgmlType typeFor(GgufTensorInfo t) {
        if (!quantizes(t)) {
            return t.type();
        }
        return mix.quantized() ? refine(t, mix.baseType()) : mix.baseType();
    }

    private GgmlType refine(GgufTensorInfo t, GgmlType base) {
        String name = t.name();
        long rowLength = t.shape()[0];
        GgmlType type = base;
        if (name.equals(OUTPUT) || (!facts.hasOutput() && name.equals(TOKEN_EMBD))) {
            if (falcon || rowLength % base.blockSize() != 0) {
                type = GgmlType.Q8_0;
            } else if (base != GgmlType.Q8_0) {
                type = GgmlType.Q6_K;
            }
        } else if (name.equals(TOKEN_EMBD)) {
            // only the IQ mixes, which UltraKV does not write, change the token embedding
            type = base;
        } else if (name.contains("attn_v.weight")) {
            type = attentionV(base);
            attentionWv++;
        } else if (name.contains("attn_k.weight")) {
            if (facts.experts() == 8) {
                type = GgmlType.Q8_0;
            }
        } else if (name.contains("attn_q.weight")) {
            type = base;
        } else if (name.contains("ffn_down")) {
            type = ffnDown(base, layerOf(name, ffnDown));
            ffnDown++;
        } else if (name.contains("attn_output.weight")) {
            type = attentionOutput(base);
        } else if (name.contains("attn_qkv.weight")) {
            type = switch (mix) {
                case Q3_K_M, Q3_K_L -> GgmlType.Q4_K;
                case Q4_K_M -> GgmlType.Q5_K;
                case Q5_K_M -> GgmlType.Q6_K;
                default -> base;
            };
        }
        return fallBack(t, type);
    }

    private GgmlType attentionV(GgmlType base) {
        GgmlType type = base;
        int i = attentionWv;
        switch (mix) {
            case Q2_K -> type = facts.gqa() >= 4 ? GgmlType.Q4_K : GgmlType.Q3_K;
            case Q3_K_M -> type = i < 2 ? GgmlType.Q5_K : GgmlType.Q4_K;
            case Q3_K_L -> type = GgmlType.Q5_K;
            case Q4_K_M, Q5_K_M -> {
                if (useMoreBits(i, facts.attentionWv())) {
                    type = GgmlType.Q6_K;
                }
            }
            case Q4_K_S -> {
                if (i < 4) {
                    type = GgmlType.Q5_K;
                }
            }
            default -> {
                // the other mixes keep the base type
            }
        }
        if (facts.is70B() && (type == GgmlType.Q3_K || type == GgmlType.Q4_K)) {
            // 8 query heads share each attn_v head there, so attn_v is small: more bits cost little
            type = GgmlType.Q5_K;
        }
        if (facts.experts() == 8) {
            type = GgmlType.Q8_0;
        }
        return type;
    }

    private GgmlType ffnDown(GgmlType base, int layer) {
        int n = facts.layers();
        return switch (mix) {
            case Q2_K -> GgmlType.Q3_K;
            case Q3_K_M -> layer < n / 16 ? GgmlType.Q5_K
                    : !falcon || useMoreBits(layer, n) ? GgmlType.Q4_K : GgmlType.Q3_K;
            case Q3_K_L -> falcon ? GgmlType.Q4_K : GgmlType.Q5_K;
            case Q4_K_M -> {
                if (falcon) {
                    yield layer < n / 16 ? GgmlType.Q6_K : useMoreBits(layer, n) ? GgmlType.Q5_K : GgmlType.Q4_K;
                }
                yield useMoreBits(layer, n) ? GgmlType.Q6_K : base;
            }
            case Q5_K_M -> useMoreBits(layer, n) ? GgmlType.Q6_K : base;
            case Q4_K_S -> !falcon && layer < n / 8 ? GgmlType.Q5_K : base;
            default -> base;
        };
    }

    private GgmlType attentionOutput(GgmlType base) {
        if (falcon) {
            return mix == QuantizeMix.Q3_K_L ? GgmlType.Q4_K : base;
        }
        if (facts.experts() == 8) {
            return switch (mix) {
                case Q2_K, Q3_K_S, Q3_K_M, Q4_K_S, Q4_K_M -> GgmlType.Q5_K;
                default -> base;
            };
        }
        return switch (mix) {
            case Q2_K -> GgmlType.Q3_K;
            case Q3_K_M -> GgmlType.Q4_K;
            case Q3_K_L -> GgmlType.Q5_K;
            default -> base;
        };
    }

    private static GgmlType fallBack(GgufTensorInfo t, GgmlType type) {
        long rowLength = t.shape()[0];
        if (rowLength % type.blockSize() == 0) {
            return type;
        }
        GgmlType fallback = switch (type) {
            case Q4_K -> GgmlType.Q5_0;
            case Q5_K -> GgmlType.Q5_1;
            case Q6_K -> GgmlType.Q8_0;
            case Q2_K, Q3_K -> throw new IllegalArgumentException("tensor '" + t.name() + "' has rows of "
                    + rowLength + " elements, not whole blocks of " + type.blockSize() + " for " + type
                    + "; llama.cpp falls back to IQ4_NL there, which UltraKV does not write");
            default -> throw new IllegalArgumentException("tensor '" + t.name() + "' has rows of " + rowLength
                    + " elements, not whole blocks of " + type.blockSize() + " for " + type
                    + ", and llama.cpp has no fallback for " + type);
        };
        return rowLength % fallback.blockSize() == 0 ? fallback : GgmlType.F16;
    }

    /** llama.cpp's {@code use_more_bits}: the first and last eighth of the layers, and every third between. */
    static boolean useMoreBits(int layer, int layers) {
        return layer < layers / 8 || layer >= 7 * layers / 8 || (layer - layers / 8) % 3 == 2;
    }

    /**
     * The layer of an ffn_down tensor: its place among them, except in mixture-of-experts models, whose expert
     * tensors are not in layer order, where it is read from the name.
     */
    private int layerOf(String name, int counted) {
        if (facts.experts() <= 1) {
            return counted;
        }
        int layer = blockOf(name);
        if (layer < 0 || layer >= facts.layers()) {
            throw new IllegalArgumentException("tensor '" + name + "': cannot tell its layer (expected blk.N. with N"
                    + " in [0, " + facts.layers() + "))");
        }
        return layer;
    }

    /** N of a name starting {@code blk.N.}, else -1 (as llama.cpp's {@code sscanf(name, "blk.%d.")}). */
    static int blockOf(String name) {
        if (!name.startsWith("blk.")) {
            return -1;
        }
        int end = 4;
        if (end < name.length() && (name.charAt(end) == '-' || name.charAt(end) == '+')) {
            end++;
        }
        int digitsFrom = end;
        while (end < name.length() && Character.isDigit(name.charAt(end)) && end - digitsFrom < 9) {
            end++;
        }
        return end == digitsFrom ? -1 : Integer.parseInt(name.substring(4, end));
    }

    /** {@code ggml_n_dims}: the dimensions up to the last one that is not 1 (at least 1). */
    private static int dimensions(long[] shape) {
        for (int i = shape.length - 1; i >= 1; i--) {
            if (shape[i] != 1) {
                return i + 1;
            }
        }
        return 1;
    }
}
