package dev.ultrakv.model;

import dev.ultrakv.model.gguf.GgufFile;
import dev.ultrakv.model.gguf.GgufTensorInfo;

/**
 * Reads the {@code <arch>.*} hyper-parameters of a GGUF file and checks them all, in one place, before anything
 * is divided or allocated by them: a file with {@code head_count} 0 or {@code block_count} 2^31-1 is refused
 * with a {@link ModelFormatException} naming the file, the key and the value, not a division by zero or an
 * {@link OutOfMemoryError}.
 *
 * <p>Sizes that arrays are made from must be backed by the file: every layer needs its tensors, so
 * {@code block_count} cannot exceed the tensors present; the widths are checked against the tensors' shapes
 * when the weights are wrapped, and the tensors against the file's size when it is parsed. The context length
 * is only checked to be positive: nothing is sized by it (the KV stores grow with the tokens used).
 *
 * <p>RoPE scaling follows llama.cpp: {@code rope.scaling.type} {@code linear} (its default) multiplies positions
 * by {@code 1 / rope.scaling.factor} when a factor is given; {@code none} leaves them; YaRN and LongRoPE are
 * refused. Llama 3.1's scaling is not a key but the {@code rope_freqs.weight} tensor, read with the weights.
 */
final class GgufHyperParameters {
    static final String EMBEDDING_LENGTH = "embedding_length";
    static final String HEAD_COUNT = "attention.head_count";
    static final String HEAD_COUNT_KV = "attention.head_count_kv";
    static final String KEY_LENGTH = "attention.key_length";
    static final String VALUE_LENGTH = "attention.value_length";
    static final String ROPE_DIMENSIONS = "rope.dimension_count";
    static final String FEED_FORWARD_LENGTH = "feed_forward_length";
    static final String BLOCK_COUNT = "block_count";
    static final String VOCABULARY_SIZE = "vocab_size";
    static final String CONTEXT_LENGTH = "context_length";
    static final String ROPE_FREQUENCY_BASE = "rope.freq_base";
    static final String ROPE_SCALING_TYPE = "rope.scaling.type";
    static final String ROPE_SCALING_FACTOR = "rope.scaling.factor";
    /** The key older converters wrote for the linear factor, which llama.cpp still reads. */
    static final String ROPE_SCALE_LINEAR = "rope.scale_linear";
    static final String NORM_EPSILON = "attention.layer_norm_rms_epsilon";
    static final String SLIDING_WINDOW = "attention.sliding_window";
    static final String ATTENTION_SOFT_CAP = "attn_logit_softcapping";
    static final String FINAL_SOFT_CAP = "final_logit_softcapping";

    /** llama.cpp's defaults for keys that older files omit. */
    private static final float DEFAULT_ROPE_THETA = 10000f;
    private static final float DEFAULT_NORM_EPSILON = 1e-5f;
    /** llama.cpp's Gemma 2 defaults, for files without the keys (its hparams' initial values). */
    private static final int GEMMA2_DEFAULT_WINDOW = 4096;
    private static final float GEMMA2_DEFAULT_ATTENTION_SOFT_CAP = 50f;
    private static final float GEMMA2_DEFAULT_FINAL_SOFT_CAP = 30f;
    /** The layer count by which llama.cpp tells Gemma 2 27B, whose queries are scaled by dim / heads. */
    private static final int GEMMA2_27B_LAYERS = 46;

    private final GgufFile g;
    private final Architecture architecture;
    private final String prefix;

    private GgufHyperParameters(GgufFile g, Architecture architecture) {
        this.g = g;
        this.architecture = architecture;
        this.prefix = architecture.ggufName() + ".";
    }

    /**
     * The model's configuration.
     *
     * @param tokenizerVocabulary the vocabulary size when the file has no {@code <arch>.vocab_size}
     * @throws ModelFormatException naming the file, the key and the value of the first bad hyper-parameter
     */
    static LlamaConfig read(GgufFile g, Architecture architecture, int tokenizerVocabulary) {
        return new GgufHyperParameters(g, architecture).config(tokenizerVocabulary);
    }

    private String key(String name) {
        return prefix + name;
    }

    private int requiredInt(String name) {
        String key = key(name);
        if (!g.metadata().containsKey(key)) {
            throw fail("the hyper-parameter " + key + " is missing");
        }
        return positive(name, g.getInt(key));
    }

    private LlamaConfig config(int tokenizerVocabulary) {
        int dim = requiredInt(EMBEDDING_LENGTH);
        int heads = requiredInt(HEAD_COUNT);
        boolean explicitHead = g.metadata().containsKey(key(KEY_LENGTH));
        if (!explicitHead && dim % heads != 0) {
            throw fail(key(HEAD_COUNT) + " " + heads + " must divide " + key(EMBEDDING_LENGTH) + " " + dim);
        }
        int headSize = explicitHead ? positive(KEY_LENGTH, g.getInt(key(KEY_LENGTH))) : dim / heads;
        int valueSize = g.getIntOrDefault(key(VALUE_LENGTH), headSize);
        if (valueSize != headSize) {
            throw fail(key(VALUE_LENGTH) + " " + valueSize + " differs from the key length " + headSize
                    + " (not supported)");
        }
        if (headSize % 2 != 0) {
            throw fail("the head size " + headSize + " must be even (RoPE rotates pairs)");
        }
        int kvHeads = positive(HEAD_COUNT_KV, g.getIntOrDefault(key(HEAD_COUNT_KV), heads));
        if (heads % kvHeads != 0) {
            throw fail(key(HEAD_COUNT_KV) + " " + kvHeads + " must divide " + key(HEAD_COUNT) + " " + heads);
        }
        int ropeDimensions = g.getIntOrDefault(key(ROPE_DIMENSIONS), headSize);
        if (ropeDimensions != headSize) {
            throw fail("partial rotary embeddings (" + key(ROPE_DIMENSIONS) + " " + ropeDimensions + ", head size "
                    + headSize + ") are not supported");
        }
        int hidden = requiredInt(FEED_FORWARD_LENGTH);
        int layers = requiredInt(BLOCK_COUNT);
        int tensors = g.tensors().size();
        int perBlock = architecture.minTensorsPerBlock();
        if (layers > tensors / perBlock) {
            throw fail(key(BLOCK_COUNT) + " " + layers + " is more than the file's " + tensors
                    + " tensors can hold (" + perBlock + " per block)");
        }
        int vocabulary = positive(VOCABULARY_SIZE, g.getIntOrDefault(key(VOCABULARY_SIZE), tokenizerVocabulary));
        GgufTensorInfo embedding = g.tensor("token_embd.weight");
        if (embedding.shape().length == 2 && embedding.shape()[1] != vocabulary) {
            throw fail("token_embd.weight has " + embedding.shape()[1] + " rows but the vocabulary ("
                    + key(VOCABULARY_SIZE) + " or the tokenizer's) has " + vocabulary + " tokens");
        }
        int context = requiredInt(CONTEXT_LENGTH);
        float theta = g.getFloatOrDefault(key(ROPE_FREQUENCY_BASE), DEFAULT_ROPE_THETA);
        if (!(theta > 0) || Float.isInfinite(theta)) {
            throw fail(key(ROPE_FREQUENCY_BASE) + " must be a positive finite number: " + theta);
        }
        float epsilon = g.getFloatOrDefault(key(NORM_EPSILON), DEFAULT_NORM_EPSILON);
        if (!(epsilon > 0 && epsilon < 1)) {
            throw fail(key(NORM_EPSILON) + " must be in (0, 1): " + epsilon);
        }
        boolean gemma = architecture == Architecture.GEMMA2;
        return new LlamaConfig(dim, hidden, layers, heads, kvHeads, vocabulary, context, theta, epsilon,
                gemma || g.findTensor("output.weight").isEmpty(), headSize, architecture.ropeStyle(), ropeScale(),
                slidingWindow(), gemma ? gemmaTraits(dim, heads, headSize, layers) : null);
    }

    /**
     * Gemma 2's factors and caps. The query scale makes scores {@code q·k / √(query_pre_attn_scalar)}: the scalar
     * is the head size for the 2B and 9B models and {@code dim / heads} for the 27B, which the file does not say;
     * llama.cpp tells the 27B by its layer count (and refuses other counts; UltraKV treats them as 2B/9B).
     */
    private GemmaTraits gemmaTraits(int dim, int heads, int headSize, int layers) {
        float queryScale = layers == GEMMA2_27B_LAYERS ? (float) Math.sqrt((double) headSize / (dim / heads)) : 1f;
        return new GemmaTraits((float) Math.sqrt(dim), queryScale,
                positiveFloat(ATTENTION_SOFT_CAP, GEMMA2_DEFAULT_ATTENTION_SOFT_CAP),
                positiveFloat(FINAL_SOFT_CAP, GEMMA2_DEFAULT_FINAL_SOFT_CAP));
    }

    private float positiveFloat(String name, float defaultValue) {
        float value = g.getFloatOrDefault(key(name), defaultValue);
        if (!(value > 0) || Float.isInfinite(value)) {
            throw fail(key(name) + " must be a positive finite number: " + value);
        }
        return value;
    }

    /** The factor positions are multiplied by, from the RoPE scaling keys. */
    private float ropeScale() {
        String type = g.getStringOrDefault(key(ROPE_SCALING_TYPE), "linear");
        float factor = g.getFloatOrDefault(key(ROPE_SCALING_FACTOR),
                g.getFloatOrDefault(key(ROPE_SCALE_LINEAR), 0f));
        return switch (type) {
            case "none" -> 1f;
            case "linear" -> {
                if (factor == 0f) {
                    yield 1f;
                }
                if (!(factor > 0) || Float.isInfinite(factor)) {
                    throw fail(key(ROPE_SCALING_FACTOR) + " must be a positive finite number: " + factor);
                }
                yield 1f / factor;
            }
            default -> throw fail(key(ROPE_SCALING_TYPE) + " '" + type + "' is not supported (supported: none,"
                    + " linear; Llama 3.1's scaling comes as the rope_freqs.weight tensor)");
        };
    }

    /**
     * The sliding attention window: Phi-3 must give one (llama.cpp refuses a Phi-3 file without it, legacy
     * shapes aside); a Llama file may (Mistral 7B v0.1), which llama.cpp c392e5094 ignores for {@code llama};
     * Gemma 2's is 4096 unless the file says otherwise (on its even layers only).
     */
    private int slidingWindow() {
        String key = key(SLIDING_WINDOW);
        if (!g.metadata().containsKey(key)) {
            if (architecture == Architecture.GEMMA2) {
                return GEMMA2_DEFAULT_WINDOW;
            }
            if (architecture == Architecture.PHI3) {
                throw fail("the hyper-parameter " + key + " is missing (Phi-3 attends through a sliding window)");
            }
            return LlamaConfig.NO_WINDOW;
        }
        int window = g.getInt(key);
        if (window == 0 && architecture == Architecture.PHI3) {
            return LlamaConfig.NO_WINDOW; // Phi-4 writes 0: no window
        }
        return positive(SLIDING_WINDOW, window);
    }

    private int positive(String name, int value) {
        if (value <= 0) {
            throw fail(key(name) + " must be positive: " + value);
        }
        return value;
    }

    private ModelFormatException fail(String problem) {
        return new ModelFormatException(g.source(), problem);
    }
}
