package dev.ultrakv.model.synthetic;

import java.util.List;
import java.util.Objects;
import java.util.stream.Collectors;

/**
 * The hyperparameters of a synthetic Llama model.
 *
 * <p>The named shapes: {@link #TEST_TINY} and {@link #TEST_SMALL} for fast tests, {@link #LLAMA_110M} (the
 * llama2.c stories110M shape) and {@link #LLAMA_1B_GQA} (the TinyLlama 1.1B shape, grouped-query attention) for
 * benchmarks. Other shapes can be made with the constructor.
 *
 * @param name          the name, written as {@code general.name}, e.g. {@code "llama-110m"}
 * @param dim           embedding width ({@code llama.embedding_length})
 * @param layers        transformer blocks ({@code llama.block_count})
 * @param heads         query heads ({@code llama.attention.head_count})
 * @param kvHeads       key/value heads ({@code llama.attention.head_count_kv}); divides {@code heads}
 * @param ffn           hidden width of the feed-forward network ({@code llama.feed_forward_length})
 * @param vocab         vocabulary size, at least {@link SyntheticVocabulary#MIN_SIZE} (specials and bytes)
 * @param contextLength maximum sequence length ({@code llama.context_length})
 */
public record SyntheticShape(String name, int dim, int layers, int heads, int kvHeads, int ffn, int vocab,
                             int contextLength) {

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

    private static final List<SyntheticShape> NAMED = List.of(TEST_TINY, TEST_SMALL, LLAMA_110M, LLAMA_1B_GQA);

    /**
     * Checks the hyperparameters.
     *
     * @throws IllegalArgumentException if a size is not positive, heads do not divide {@code dim}, KV heads do
     *                                  not divide heads, the head size is odd (RoPE rotates pairs), or the
     *                                  vocabulary cannot hold the special and byte tokens
     */
    public SyntheticShape {
        Objects.requireNonNull(name, "name");
        if (dim <= 0 || layers <= 0 || heads <= 0 || kvHeads <= 0 || ffn <= 0 || contextLength <= 0) {
            throw new IllegalArgumentException(name + ": sizes must be positive");
        }
        if (dim % heads != 0 || heads % kvHeads != 0 || (dim / heads) % 2 != 0) {
            throw new IllegalArgumentException(name + ": need heads | dim, kvHeads | heads and an even head size"
                    + " (dim " + dim + ", heads " + heads + ", kvHeads " + kvHeads + ")");
        }
        if (vocab < SyntheticVocabulary.MIN_SIZE) {
            throw new IllegalArgumentException(name + ": vocab " + vocab + " cannot hold the "
                    + SyntheticVocabulary.MIN_SIZE + " special and byte tokens");
        }
    }

    /** Width of one attention head. */
    public int headSize() {
        return dim / heads;
    }

    /** Width of the keys (and values) of all KV heads together. */
    public int kvDim() {
        return kvHeads * headSize();
    }

    /** Number of weights, output projection included. */
    public long parameterCount() {
        long perLayer = 2L * dim + 2L * dim * dim + 2L * dim * kvDim() + 3L * dim * ffn;
        return 2L * vocab * dim + dim + layers * perLayer;
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
