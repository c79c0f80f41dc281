package dev.ultrakv.model.synthetic;

import dev.ultrakv.model.Architecture;

import java.util.Objects;

/**
 * What a synthetic model has beyond its sizes: its architecture and the options of that family a file may carry.
 *
 * @param architecture   the GGUF architecture, which names the keys and tensors
 * @param ropeTheta      the RoPE frequency base ({@code rope.freq_base})
 * @param llama3Rope     whether the file has Llama 3.1's RoPE frequency factors ({@code rope_freqs.weight}),
 *                       computed as llama.cpp's converter computes them from factor 8, low and high frequency
 *                       factors 1 and 4 and an original context of 8192
 * @param tied           whether the classifier is the token embedding (no {@code output.weight})
 * @param keyLength      the head size when it is not {@code dim / heads} ({@code attention.key_length}, Qwen 3);
 *                       0 for {@code dim / heads}
 * @param slidingWindow  the keys each query sees ({@code attention.sliding_window}); 0 for no key
 */
public record SyntheticFamily(Architecture architecture, float ropeTheta, boolean llama3Rope, boolean tied,
                              int keyLength, int slidingWindow) {

    /** Llama 2 as the first synthetic models were: base 10000, untied, full attention. */
    public static final SyntheticFamily LLAMA = new SyntheticFamily(Architecture.LLAMA, 10000f, false, false, 0, 0);
    /** Llama 3.2: base 500000, RoPE frequency factors, tied embeddings. */
    public static final SyntheticFamily LLAMA3 = new SyntheticFamily(Architecture.LLAMA, 500000f, true, true, 0, 0);
    /** Qwen 2.5 (small sizes): base 10^6, tied embeddings. */
    public static final SyntheticFamily QWEN2 = new SyntheticFamily(Architecture.QWEN2, 1e6f, false, true, 0, 0);

    /**
     * @throws IllegalArgumentException if a size is negative or RoPE factors are asked of another family
     */
    public SyntheticFamily {
        Objects.requireNonNull(architecture, "architecture");
        if (!(ropeTheta > 1) || Float.isInfinite(ropeTheta) || keyLength < 0 || slidingWindow < 0) {
            throw new IllegalArgumentException("invalid family options: theta " + ropeTheta + ", key length "
                    + keyLength + ", sliding window " + slidingWindow);
        }
        if (llama3Rope && architecture != Architecture.LLAMA) {
            throw new IllegalArgumentException("RoPE frequency factors belong to llama files, not "
                    + architecture.ggufName());
        }
        if (keyLength != 0 && architecture != Architecture.QWEN3 && architecture != Architecture.GEMMA2) {
            throw new IllegalArgumentException("an explicit key length is Qwen 3's or Gemma 2's, not "
                    + architecture.ggufName() + "'s");
        }
        if (architecture == Architecture.GEMMA2 && !tied) {
            throw new IllegalArgumentException("Gemma 2 always ties its classifier to the token embedding");
        }
    }

    /**
     * This family with its own classifier matrix (not for Gemma 2, which always ties). Random tied weights make greedy decoding repeat the input
     * token (the final state stays close to the token's embedding), so tiny test shapes untie to be worth
     * comparing token by token.
     */
    public SyntheticFamily untied() {
        return new SyntheticFamily(architecture, ropeTheta, llama3Rope, false, keyLength, slidingWindow);
    }

    /** Qwen 3: base 10^6, tied embeddings, heads of {@code keyLength}. */
    public static SyntheticFamily qwen3(int keyLength) {
        return new SyntheticFamily(Architecture.QWEN3, 1e6f, false, true, keyLength, 0);
    }

    /** Phi-3: base 10000, untied, a window of {@code slidingWindow} keys. */
    public static SyntheticFamily phi3(int slidingWindow) {
        return new SyntheticFamily(Architecture.PHI3, 10000f, false, false, 0, slidingWindow);
    }

    /**
     * Gemma 2: base 10000, tied (llama.cpp reads no {@code output.weight} for it), heads of {@code keyLength}, a
     * window of {@code slidingWindow} keys on the even layers, soft caps 50 and 30 written out.
     */
    public static SyntheticFamily gemma2(int keyLength, int slidingWindow) {
        return new SyntheticFamily(Architecture.GEMMA2, 10000f, false, true, keyLength, slidingWindow);
    }

    /** A Mistral-style llama file: base 10000, untied, a window of {@code slidingWindow} keys. */
    public static SyntheticFamily mistral(int slidingWindow) {
        return new SyntheticFamily(Architecture.LLAMA, 10000f, false, false, 0, slidingWindow);
    }
}
