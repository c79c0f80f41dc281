package dev.ultrakv.model.synthetic;

import dev.ultrakv.model.Architecture;

import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * The hyperparameters of a synthetic model.
 *
 * <p>The named shapes: {@link #TEST_TINY} and {@link #TEST_SMALL} for fast tests, {@link #LLAMA_110M} (the
 * llama2.c stories110M shape) and {@link #LLAMA_1B_GQA} (the TinyLlama 1.1B shape, grouped-query attention) for
 * benchmarks; for each further family a tiny test shape and the shape of a model people download (Llama 3.2 1B,
 * Qwen 2.5 0.5B, Qwen 3 0.6B, Phi-3 mini 4k, Gemma 2 2B). Other shapes can be made with the constructor.
 *
 * @param name          the name, written as {@code general.name}, e.g. {@code "llama-110m"}
 * @param dim           embedding width ({@code llama.embedding_length})
 * @param layers        transformer blocks ({@code llama.block_count})
 * @param heads         query heads ({@code llama.attention.head_count})
 * @param kvHeads       key/value heads ({@code llama.attention.head_count_kv}); divides {@code heads}
 * @param ffn           hidden width of the feed-forward network ({@code llama.feed_forward_length})
 * @param vocab         vocabulary size, at least {@link SyntheticVocabulary#MIN_SIZE} (specials and bytes)
 * @param contextLength maximum sequence length ({@code llama.context_length})
 * @param family        the architecture and its options
 */
public record SyntheticShape(String name, int dim, int layers, int heads, int kvHeads, int ffn, int vocab,
                             int contextLength, SyntheticFamily family) {

    /** Tiny, for unit tests: head size 16, two query heads per KV head. */
    public static final SyntheticShape TEST_TINY = new SyntheticShape("test-tiny", 64, 2, 4, 2, 96, 384, 128);
    /** Small, for tests that want a little more depth and width. */
    public static final SyntheticShape TEST_SMALL = new SyntheticShape("test-small", 128, 4, 8, 4, 352, 512, 256);
    /** The shape of llama2.c's stories110M (multi-head attention). */
    public static final SyntheticShape LLAMA_110M =
            new SyntheticShape("llama-110m", 768, 12, 12, 12, 2048, 32000, 2048);
    /** The shape of TinyLlama 1.1B (grouped-query attention, 8 query heads per KV head). */
    public static final SyntheticShape LLAMA_1B_GQA =
            new SyntheticShape("llama-1b-gqa", 2048, 22, 32, 4, 5632, 32000, 2048);

    /** Tiny Llama 3: RoPE frequency factors, base 500000 (untied: see {@link SyntheticFamily#untied()}). */
    public static final SyntheticShape TEST_LLAMA3 =
            new SyntheticShape("test-llama3", 64, 2, 4, 2, 96, 384, 128, SyntheticFamily.LLAMA3.untied());
    /** The shape of Llama 3.2 1B. */
    public static final SyntheticShape LLAMA3_1B =
            new SyntheticShape("llama3.2-1b", 2048, 16, 32, 8, 8192, 128256, 131072, SyntheticFamily.LLAMA3);
    /** Tiny Mistral-style Llama: a sliding window of 8 keys, so tests of a few dozen tokens leave it. */
    public static final SyntheticShape TEST_MISTRAL =
            new SyntheticShape("test-mistral", 64, 2, 4, 2, 96, 384, 128, SyntheticFamily.mistral(8));
    /** Tiny Qwen 2: Q/K/V biases, RoPE of halves. */
    public static final SyntheticShape TEST_QWEN2 =
            new SyntheticShape("test-qwen2", 64, 2, 4, 2, 96, 384, 128, SyntheticFamily.QWEN2.untied());
    /** The shape of Qwen 2.5 0.5B. */
    public static final SyntheticShape QWEN2_05B =
            new SyntheticShape("qwen2.5-0.5b", 896, 24, 14, 2, 4864, 151936, 32768, SyntheticFamily.QWEN2);
    /** Tiny Qwen 3: heads of 32 from a width of 64, so queries are wider than the residual stream. */
    public static final SyntheticShape TEST_QWEN3 =
            new SyntheticShape("test-qwen3", 64, 2, 4, 2, 96, 384, 128, SyntheticFamily.qwen3(32).untied());
    /** The shape of Qwen 3 0.6B. */
    public static final SyntheticShape QWEN3_06B =
            new SyntheticShape("qwen3-0.6b", 1024, 28, 16, 8, 3072, 151936, 40960, SyntheticFamily.qwen3(128));
    /** Tiny Phi-3: fused matrices, a sliding window of 8 keys. */
    public static final SyntheticShape TEST_PHI3 =
            new SyntheticShape("test-phi3", 64, 2, 4, 4, 96, 384, 128, SyntheticFamily.phi3(8));
    /** The shape of Phi-3 mini 4k (window 2047, as llama.cpp gives it). */
    public static final SyntheticShape PHI3_MINI =
            new SyntheticShape("phi3-mini", 3072, 32, 32, 32, 8192, 32064, 4096, SyntheticFamily.phi3(2047));

    /**
     * Tiny Gemma 2: 26 layers because llama.cpp runs only Gemma 2's three layer counts (26, 42, 46); heads of 32
     * over a residual of 64 (as Gemma 2 2B's 256 over 2304 / 8), a window of 8 on the even layers.
     */
    public static final SyntheticShape TEST_GEMMA2 =
            new SyntheticShape("test-gemma2", 64, 26, 4, 2, 96, 384, 128, SyntheticFamily.gemma2(32, 8));
    /** Gemma 2 2B's shape (tied, as every Gemma 2). */
    public static final SyntheticShape GEMMA2_2B =
            new SyntheticShape("gemma2-2b", 2304, 26, 8, 4, 9216, 256000, 8192, SyntheticFamily.gemma2(256, 4096));

    private static final List<SyntheticShape> NAMED = List.of(TEST_TINY, TEST_SMALL, LLAMA_110M, LLAMA_1B_GQA,
            TEST_LLAMA3, LLAMA3_1B, TEST_MISTRAL, TEST_QWEN2, QWEN2_05B, TEST_QWEN3, QWEN3_06B, TEST_PHI3, PHI3_MINI,
            TEST_GEMMA2, GEMMA2_2B);

    /**
     * Checks the hyperparameters.
     *
     * @throws IllegalArgumentException if a size is not positive, heads do not divide {@code dim}, KV heads do
     *                                  not divide heads, the head size is odd (RoPE rotates pairs), or the
     *                                  vocabulary cannot hold the special and byte tokens
     */
    public SyntheticShape {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(family, "family");
        if (dim <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || ffn <= 0 || contextLength <= 0) {
            throw new IllegalArgumentException(name + ": sizes must be positive");
        }
        if (family.keyLength() != 0) {
            if (family.keyLength() % 2 != 0 || heads % kvHeads != 0) {
                throw new IllegalArgumentException(name + ": need kvHeads | heads and an even head size"
                        + " (heads " + heads + ", kvHeads " + kvHeads + ", key length " + family.keyLength() + ")");
            }
        } else if (dim % heads != 0 || heads % kvHeads != 0 || (dim / heads) % 2 != 0) {
            throw new IllegalArgumentException(name + ": need heads | dim, kvHeads | heads and an even head size"
                    + " (dim " + dim + ", heads " + heads + ", kvHeads " + kvHeads + ")");
        }
        if (vocab < SyntheticVocabulary.MIN_SIZE) {
            throw new IllegalArgumentException(name + ": vocab " + vocab + " cannot hold the "
                    + SyntheticVocabulary.MIN_SIZE + " special and byte tokens");
        }
    }

    /** A Llama 2 shape (no family options). */
    public SyntheticShape(String name, int dim, int layers, int heads, int kvHeads, int ffn, int vocab,
                          int contextLength) {
        this(name, dim, layers, heads, kvHeads, ffn, vocab, contextLength, SyntheticFamily.LLAMA);
    }

    /** Width of one attention head. */
    public int headSize() {
        return family.keyLength() != 0 ? family.keyLength() : dim / heads;
    }

    /** Width of the queries of all heads together. */
    public int qDim() {
        return heads * headSize();
    }

    /** Width of the keys (and values) of all KV heads together. */
    public int kvDim() {
        return kvHeads * headSize();
    }

    /** Number of weights, the output projection counted once when tied; biases and head norms included. */
    public long parameterCount() {
        long perLayer = 2L * dim + 2L * dim * qDim() + 2L * dim * kvDim() + 3L * dim * ffn;
        if (family.architecture() == Architecture.QWEN2) {
            perLayer += qDim() + 2L * kvDim();
        }
        if (family.architecture() == Architecture.QWEN3) {
            perLayer += 2L * headSize();
        }
        if (family.architecture() == Architecture.GEMMA2) {
            perLayer += 2L * dim; // the post-attention and post-feed-forward norms
        }
        return (family.tied() ? 1L : 2L) * vocab * dim + dim + layers * perLayer;
    }

    /** The named shapes. */
    public static List<SyntheticShape> named() {
        return NAMED;
    }

    /**
     * The named shape called {@code name}.
     *
     * @throws IllegalArgumentException if there is none; the message lists the names
     */
    public static SyntheticShape named(String name) {
        for (SyntheticShape s : NAMED) {
            if (s.name.equals(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown synthetic shape '" + name + "' (known: "
                + NAMED.stream().map(SyntheticShape::name).collect(Collectors.joining(", ")) + ")");
    }
}
