package dev.ultrakv.model;

import java.util.Arrays;
import java.util.stream.Collectors;

/**
 * The model families (GGUF {@code general.architecture}) that {@link LlamaModel} runs, with what sets them apart
 * in the file. Facts from llama.cpp (src/llama-model.cpp, src/llama.cpp at c392e5094) and the families' papers.
 */
public enum Architecture {
    /** Llama 1, 2 and 3.x, Mistral, TinyLlama, SmolLM: the plain family (Llama 3.1's RoPE factors optional). */
    LLAMA("llama", RopeStyle.ADJACENT_PAIRS, 9),
    /** Qwen 2 and 2.5: biases on Q, K and V; RoPE of halves. */
    QWEN2("qwen2", RopeStyle.HALVES, 12),
    /** Qwen 3 (dense): an RMSNorm on each query and key head before RoPE; no biases; head size from the file. */
    QWEN3("qwen3", RopeStyle.HALVES, 11),
    /** Phi-3 and Phi-4 mini: fused Q/K/V and gate/up matrices, a sliding window on every layer. */
    PHI3("phi3", RopeStyle.HALVES, 6),
    /**
     * Gemma 2: embeddings scaled by √dim, norms after attention and after the feed-forward too, gated GELU,
     * soft-capped attention scores and logits, a sliding window on every other layer, tied classifier
     * ({@link GemmaTraits}).
     */
    GEMMA2("gemma2", RopeStyle.HALVES, 11);

    private final String ggufName;
    private final RopeStyle ropeStyle;
    private final int minTensorsPerBlock;

    Architecture(String ggufName, RopeStyle ropeStyle, int minTensorsPerBlock) {
        this.ggufName = ggufName;
        this.ropeStyle = ropeStyle;
        this.minTensorsPerBlock = minTensorsPerBlock;
    }

    /** The name in {@code general.architecture}, also the prefix of the family's hyper-parameter keys. */
    public String ggufName() {
        return ggufName;
    }

    /** How this family pairs the elements RoPE rotates (llama.cpp's rope type of the architecture). */
    public RopeStyle ropeStyle() {
        return ropeStyle;
    }

    /** The fewest tensors a block of this family has: bounds {@code block_count} by the file's tensors. */
    int minTensorsPerBlock() {
        return minTensorsPerBlock;
    }

    /**
     * The family called {@code name} in GGUF.
     *
     * @throws IllegalArgumentException naming the architecture and the supported ones
     */
    public static Architecture fromGguf(String name) {
        for (Architecture a : values()) {
            if (a.ggufName.equals(name)) {
                return a;
            }
        }
        throw new IllegalArgumentException("unsupported architecture '" + name + "' (supported: "
                + Arrays.stream(values()).map(Architecture::ggufName).collect(Collectors.joining(", ")) + ")");
    }
}
