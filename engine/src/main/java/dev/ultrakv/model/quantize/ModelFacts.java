package dev.ultrakv.model.quantize;

import dev.ultrakv.model.gguf.GgufFile;
import dev.ultrakv.model.gguf.GgufTensorInfo;
import dev.ultrakv.model.gguf.GgufValue;

/**
 * What llama.cpp's per-tensor rules look at besides a tensor's own name and shape: read from the metadata
 * ({@code ARCH.block_count}, {@code ARCH.attention.head_count(_kv)}, {@code ARCH.expert_count}) and from the
 * tensor names, as {@code llama_model_quantize_impl} counts them.
 *
 * @param arch           {@code general.architecture}, e.g. {@code llama}
 * @param layers         {@code n_layer}: the block count (0 when absent)
 * @param heads          attention heads of layer 0 (0 when absent)
 * @param kvHeads        key/value heads of layer 0 (the heads when absent)
 * @param experts        {@code n_expert} (0 when absent)
 * @param hasOutput      whether there is an {@code output.weight}; without it the token embedding is also the
 *                       output matrix and is quantized as one
 * @param attentionWv    how many tensors are named {@code *attn_v.weight}, {@code *attn_qkv.weight} or
 *                       {@code *attn_kv_b.weight} ({@code n_attention_wv})
 */
public record ModelFacts(String arch, int layers, int heads, int kvHeads, int experts, boolean hasOutput,
                         int attentionWv) {

    /** Reads the facts of {@code file}. */
    public static ModelFacts of(GgufFile file) {
        String arch = file.metadata().get("general.architecture") instanceof GgufValue.Str s ? s.value() : "";
        int heads = intOf(file, arch + ".attention.head_count", 0);
        boolean hasOutput = false;
        int attentionWv = 0;
        for (GgufTensorInfo t : file.tensors()) {
            String name = t.name();
            if (name.contains("attn_v.weight") || name.contains("attn_qkv.weight")
                    || name.contains("attn_kv_b.weight")) {
                attentionWv++;
            } else if (name.equals(TensorTypeRules.OUTPUT)) {
                hasOutput = true;
            }
        }
        return new ModelFacts(arch, intOf(file, arch + ".block_count", 0), heads,
                intOf(file, arch + ".attention.head_count_kv", heads), intOf(file, arch + ".expert_count", 0),
                hasOutput, attentionWv);
    }

    /** {@code n_gqa()}: query heads per key/value head, 0 without key/value heads. */
    public int gqa() {
        return kvHeads == 0 ? 0 : heads / kvHeads;
    }

    /**
     * Whether llama.cpp takes the model for a 70B one ({@code LLM_TYPE_70B}), whose attn_v gets more bits: 80
     * layers of the llama (with grouped-query attention and not 8 experts), deci, qwen2, qwen2vl or olmo
     * architectures (llama.cpp's {@code load_hparams}).
     */
    public boolean is70B() {
        return layers == 80 && switch (arch) {
            case "llama" -> experts != 8 && heads != kvHeads;
            case "deci", "qwen2", "qwen2vl", "olmo" -> true;
            default -> false;
        };
    }

    /** An integer, or the first of an integer array (per-layer values), or {@code absent}. */
    private static int intOf(GgufFile file, String key, int absent) {
        GgufValue v = file.metadata().get(key);
        if (v instanceof GgufValue.Int i) {
            return (int) i.value();
        }
        if (v instanceof GgufValue.IntArray a && a.size() > 0) {
            return (int) a.get(0);
        }
        return absent;
    }
}
