package dev.ultrakv.model.quantize;

import dev.ultrakv.tensor.GgmlType;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * The file types {@code ultrakv quantize} writes, named and numbered as llama.cpp names them
 * ({@code llama-quantize}'s options, {@code llama_ftype}). A mix has a base type, which most matrices get;
 * the K-quant mixes give some tensors more bits (see {@link TensorTypeRules}).
 */
public enum QuantizeMix {
    /** All float32 (llama.cpp's {@code F32}, {@code LLAMA_FTYPE_ALL_F32}). */
    F32(0, GgmlType.F32),
    /** Matrices float16. */
    F16(1, GgmlType.F16),
    /** Matrices bfloat16. */
    BF16(32, GgmlType.BF16),
    /** Matrices Q8_0. */
    Q8_0(7, GgmlType.Q8_0),
    /** Matrices Q4_0; the output matrix Q6_K. */
    Q4_0(2, GgmlType.Q4_0),
    /** Matrices Q4_1; the output matrix Q6_K. */
    Q4_1(3, GgmlType.Q4_1),
    /** Matrices Q5_0; the output matrix Q6_K. */
    Q5_0(8, GgmlType.Q5_0),
    /** Matrices Q5_1; the output matrix Q6_K. */
    Q5_1(9, GgmlType.Q5_1),
    /** Q2_K, with Q3_K or Q4_K where it hurts most. */
    Q2_K(10, GgmlType.Q2_K),
    /** Q3_K ("small"). */
    Q3_K_S(11, GgmlType.Q3_K),
    /** Q3_K ("medium"), with Q4_K and Q5_K in attn_v, attn_output and ffn_down. */
    Q3_K_M(12, GgmlType.Q3_K),
    /** Q3_K ("large"), with Q5_K in attn_v, attn_output and ffn_down. */
    Q3_K_L(13, GgmlType.Q3_K),
    /** Q4_K ("small"), with Q5_K in the first attn_v and ffn_down tensors. */
    Q4_K_S(14, GgmlType.Q4_K),
    /** Q4_K ("medium"), with Q6_K in half of attn_v and ffn_down. */
    Q4_K_M(15, GgmlType.Q4_K),
    /** Q5_K ("small"). */
    Q5_K_S(16, GgmlType.Q5_K),
    /** Q5_K ("medium"), with Q6_K in half of attn_v and ffn_down. */
    Q5_K_M(17, GgmlType.Q5_K),
    /** Q6_K. */
    Q6_K(18, GgmlType.Q6_K);

    private final int fileType;
    private final GgmlType baseType;

    QuantizeMix(int fileType, GgmlType baseType) {
        this.fileType = fileType;
        this.baseType = baseType;
    }

    /** llama.cpp's {@code llama_ftype} number, written as {@code general.file_type}. */
    public int fileType() {
        return fileType;
    }

    /** The type most matrices get. */
    public GgmlType baseType() {
        return baseType;
    }

    /**
     * The first mix whose base type is {@code type}, in llama.cpp's order: for a K-quant its "small" mix, which is
     * what a file of that type everywhere declares (llama-quantize writes the same type).
     *
     * @throws IllegalArgumentException if no mix has that base type
     */
    public static QuantizeMix firstWithBaseType(GgmlType type) {
        for (QuantizeMix m : values()) {
            if (m.baseType == type) {
                return m;
            }
        }
        throw new IllegalArgumentException("no llama.cpp file type has base type " + type);
    }

    /** Whether the base type is quantized, so that llama.cpp's per-tensor rules apply. */
    public boolean quantized() {
        return baseType.blockSize() > 1;
    }

    /**
     * The mix named {@code name} as {@code llama-quantize} accepts it: a name in any case, an alias
     * ({@code Q3_K}, {@code Q4_K} and {@code Q5_K} mean the "medium" mixes) or a {@code llama_ftype} number.
     *
     * @throws IllegalArgumentException naming the known mixes if {@code name} is none of them
     */
    public static QuantizeMix parse(String name) {
        String upper = name.strip().toUpperCase(Locale.ROOT);
        for (QuantizeMix m : values()) {
            if (m.name().equals(upper)) {
                return m;
            }
        }
        switch (upper) {
            case "Q3_K" -> {
                return Q3_K_M;
            }
            case "Q4_K" -> {
                return Q4_K_M;
            }
            case "Q5_K" -> {
                return Q5_K_M;
            }
            default -> {
                // a llama_ftype number, as llama-quantize also takes
            }
        }
        if (upper.matches("[0-9]{1,3}")) {
            int number = Integer.parseInt(upper);
            for (QuantizeMix m : values()) {
                if (m.fileType == number) {
                    return m;
                }
            }
        }
        throw new IllegalArgumentException("unknown quantization type '" + name + "' (known: " + known() + ")");
    }

    /** The known names, aliases included, for messages and help. */
    public static String known() {
        return Arrays.stream(values()).map(Enum::name).collect(Collectors.joining(", "))
                + "; aliases Q3_K = Q3_K_M, Q4_K = Q4_K_M, Q5_K = Q5_K_M";
    }
}
