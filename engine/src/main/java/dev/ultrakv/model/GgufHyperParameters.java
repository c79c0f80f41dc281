package dev.ultrakv.model;

import dev.ultrakv.model.gguf.GgufFile;
import dev.ultrakv.model.gguf.GgufTensorInfo;

/**
 * Reads the {@code llama.*} hyper-parameters of a GGUF file and checks them all, in one place, before anything
 * is divided or allocated by them: a file with {@code head_count} 0 or {@code block_count} 2^31-1 is refused
 * with a {@link ModelFormatException} naming the file, the key and the value, not a division by zero or an
 * {@link OutOfMemoryError}.
 *
 * <p>Sizes that arrays are made from must be backed by the file: every layer needs its tensors, so
 * {@code block_count} cannot exceed the tensors present; the widths are checked against the tensors' shapes
 * when the weights are wrapped, and the tensors against the file's size when it is parsed. The context length
 * is only checked to be positive: nothing is sized by it (the KV stores grow with the tokens used).
 */
final class GgufHyperParameters {
    static final String EMBEDDING_LENGTH = "llama.embedding_length";
    static final String HEAD_COUNT = "llama.attention.head_count";
    static final String HEAD_COUNT_KV = "llama.attention.head_count_kv";
    static final String ROPE_DIMENSIONS = "llama.rope.dimension_count";
    static final String FEED_FORWARD_LENGTH = "llama.feed_forward_length";
    static final String BLOCK_COUNT = "llama.block_count";
    static final String VOCABULARY_SIZE = "llama.vocab_size";
    static final String CONTEXT_LENGTH = "llama.context_length";
    static final String ROPE_FREQUENCY_BASE = "llama.rope.freq_base";
    static final String NORM_EPSILON = "llama.attention.layer_norm_rms_epsilon";

    /** Tensors every block has: two norms, four attention and three feed-forward matrices. */
    static final int TENSORS_PER_BLOCK = 9;
    /** llama.cpp's defaults for keys that older files omit. */
    private static final float DEFAULT_ROPE_THETA = 10000f;
    private static final float DEFAULT_NORM_EPSILON = 1e-5f;

    private final GgufFile g;

    private GgufHyperParameters(GgufFile g) {
        this.g = g;
    }

    /**
     * The model's configuration.
     *
     * @param tokenizerVocabulary the vocabulary size when the file has no {@value #VOCABULARY_SIZE}
     * @throws ModelFormatException naming the file, the key and the value of the first bad hyper-parameter
     */
    static LlamaConfig read(GgufFile g, int tokenizerVocabulary) {
        return new GgufHyperParameters(g).config(tokenizerVocabulary);
    }

    private LlamaConfig config(int tokenizerVocabulary) {
        int dim = positive(EMBEDDING_LENGTH, g.getInt(EMBEDDING_LENGTH));
        int heads = positive(HEAD_COUNT, g.getInt(HEAD_COUNT));
        if (dim % heads != 0) {
            throw fail(HEAD_COUNT + " " + heads + " must divide " + EMBEDDING_LENGTH + " " + dim);
        }
        int headSize = dim / heads;
        if (headSize % 2 != 0) {
            throw fail("the head size " + EMBEDDING_LENGTH + " / " + HEAD_COUNT + " = " + dim + " / " + heads
                    + " = " + headSize + " must be even (RoPE rotates pairs)");
        }
        int kvHeads = positive(HEAD_COUNT_KV, g.getIntOrDefault(HEAD_COUNT_KV, heads));
        if (heads % kvHeads != 0) {
            throw fail(HEAD_COUNT_KV + " " + kvHeads + " must divide " + HEAD_COUNT + " " + heads);
        }
        int ropeDimensions = g.getIntOrDefault(ROPE_DIMENSIONS, headSize);
        if (ropeDimensions != headSize) {
            throw fail("partial rotary embeddings (" + ROPE_DIMENSIONS + " " + ropeDimensions + ", head size "
                    + headSize + ") are not supported");
        }
        int hidden = positive(FEED_FORWARD_LENGTH, g.getInt(FEED_FORWARD_LENGTH));
        int layers = positive(BLOCK_COUNT, g.getInt(BLOCK_COUNT));
        int tensors = g.tensors().size();
        if (layers > tensors / TENSORS_PER_BLOCK) {
            throw fail(BLOCK_COUNT + " " + layers + " is more than the file's " + tensors + " tensors can hold ("
                    + TENSORS_PER_BLOCK + " per block)");
        }
        int vocabulary = positive(VOCABULARY_SIZE, g.getIntOrDefault(VOCABULARY_SIZE, tokenizerVocabulary));
        GgufTensorInfo embedding = g.tensor("token_embd.weight");
        if (embedding.shape().length == 2 && embedding.shape()[1] != vocabulary) {
            throw fail("token_embd.weight has " + embedding.shape()[1] + " rows but the vocabulary ("
                    + VOCABULARY_SIZE + " or the tokenizer's) has " + vocabulary + " tokens");
        }
        int context = positive(CONTEXT_LENGTH, g.getInt(CONTEXT_LENGTH));
        float theta = g.getFloatOrDefault(ROPE_FREQUENCY_BASE, DEFAULT_ROPE_THETA);
        if (!(theta > 0) || Float.isInfinite(theta)) {
            throw fail(ROPE_FREQUENCY_BASE + " must be a positive finite number: " + theta);
        }
        float epsilon = g.getFloatOrDefault(NORM_EPSILON, DEFAULT_NORM_EPSILON);
        if (!(epsilon > 0 && epsilon < 1)) {
            throw fail(NORM_EPSILON + " must be in (0, 1): " + epsilon);
        }
        return new LlamaConfig(dim, hidden, layers, heads, kvHeads, vocabulary, context, theta, epsilon,
                g.findTensor("output.weight").isEmpty());
    }

    private int positive(String key, int value) {
        if (value <= 0) {
            throw fail(key + " must be positive: " + value);
        }
        return value;
    }

    private ModelFormatException fail(String problem) {
        return new ModelFormatException(g.source(), problem);
    }
}
