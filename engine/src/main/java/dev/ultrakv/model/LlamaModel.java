package dev.ultrakv.model;

import dev.ultrakv.kvcache.KvStore;
import dev.ultrakv.tensor.Matmul;
import dev.ultrakv.tensor.Parallel;
import dev.ultrakv.tensor.VectorOps;
import dev.ultrakv.tokenizer.Tokenizer;

import java.util.Objects;
import java.util.Optional;

/**
 * A Llama-family transformer: RMSNorm, rotary position embeddings, grouped-query attention and a SwiGLU
 * feed-forward, read top to bottom in {@link #forward}. The families that differ from Llama only in details run
 * here too, each detail switched on by its configuration or weights: Q/K/V biases (Qwen 2), RMSNorm of each
 * query and key head (Qwen 3), RoPE of halves (NeoX style), scaled RoPE frequencies (Llama 3.1), a head size
 * other than {@code dim / heads}, and a sliding attention window (Phi-3, Mistral).
 *
 * <p>The model holds only immutable weights; each caller brings its own {@link ForwardState} and each sequence
 * its own {@link KvStore}, so one model serves many threads and sequences at once. Keys and values are never
 * held by the model: the forward pass writes them to the sequence's store and asks the store for attention,
 * so that paged, quantized or compressed caches slot in without touching this class.
 *
 * <p>A forward pass takes a batch of rows. Each row is one token at one position of one sequence; rows of the
 * same sequence must come in position order. Prefill is a batch of a prompt's tokens; batched decode is a batch
 * of one token from each of several sequences. Every weight matrix is read once per batch (matrix-matrix).
 */
public final class LlamaModel implements AutoCloseable {
    /** Rows per prefill chunk: large enough to keep the matmul kernels compute-bound, small enough for cache. */
    public static final int DEFAULT_PREFILL_CHUNK = 256;

    private final String name;
    private final LlamaConfig config;
    private final LlamaWeights weights;
    private final Tokenizer tokenizer;
    private final AutoCloseable resource;
    /** The Jinja chat template the model file carries ({@code tokenizer.chat_template}); null when none. */
    private final String chatTemplate;
    /** The context length the model file gives, before any {@link #withContextLength} override. */
    private final int trainedContextLength;
    /** llama.cpp's name of the file's weight mix ({@link LlamaFileType}); null when the file does not say. */
    private final String fileType;
    private final RotaryEmbedding rope;

    /**
     * @param name      a name for messages and the cache's model identity
     * @param resource  closed with the model (e.g. the arena of the mapped file); may be null
     * @throws IllegalArgumentException if the weights or tokenizer do not fit the configuration
     */
    public LlamaModel(String name, LlamaConfig config, LlamaWeights weights, Tokenizer tokenizer,
                      AutoCloseable resource) {
        this(name, config, weights, tokenizer, resource, null);
    }

    /**
     * A model whose file carries a chat template.
     *
     * @param chatTemplate the Jinja template of {@code tokenizer.chat_template}; null when the file has none
     * @throws IllegalArgumentException if the weights or tokenizer do not fit the configuration
     */
    public LlamaModel(String name, LlamaConfig config, LlamaWeights weights, Tokenizer tokenizer,
                      AutoCloseable resource, String chatTemplate) {
        this(name, config, weights, tokenizer, resource, chatTemplate, config.contextLength(), null);
    }

    private LlamaModel(String name, LlamaConfig config, LlamaWeights weights, Tokenizer tokenizer,
                       AutoCloseable resource, String chatTemplate, int trainedContextLength, String fileType) {
        this.chatTemplate = chatTemplate;
        this.trainedContextLength = trainedContextLength;
        this.fileType = fileType;
        this.name = Objects.requireNonNull(name, "name");
        this.config = Objects.requireNonNull(config, "config");
        this.weights = Objects.requireNonNull(weights, "weights");
        this.tokenizer = Objects.requireNonNull(tokenizer, "tokenizer");
        this.resource = resource;
        weights.checkShapes(config);
        this.rope = new RotaryEmbedding(config, weights.ropeFactors());
        if (tokenizer.vocabularySize() != config.vocabularySize()) {
            throw new IllegalArgumentException(name + ": the tokenizer has " + tokenizer.vocabularySize()
                    + " tokens but the model's vocabulary has " + config.vocabularySize());
        }
    }

    public String name() {
        return name;
    }

    public LlamaConfig config() {
        return config;
    }

    public LlamaWeights weights() {
        return weights;
    }

    public Tokenizer tokenizer() {
        return tokenizer;
    }

    /** The context length the model file gives (the one it was trained for), whatever {@link #config()} says. */
    public int trainedContextLength() {
        return trainedContextLength;
    }

    /** The Jinja chat template the model file carries, if any (GGUF {@code tokenizer.chat_template}). */
    public Optional<String> chatTemplate() {
        return Optional.ofNullable(chatTemplate);
    }

    /**
     * This model with another context length (as llama.cpp's {@code --ctx-size}): the same weights and
     * tokenizer; RoPE extends to any position, though quality past the trained length is not promised. The
     * returned model takes over the resource: close it instead of this one.
     */
    public LlamaModel withContextLength(int contextLength) {
        return new LlamaModel(name, config.withContextLength(contextLength), weights, tokenizer, resource,
                chatTemplate, trainedContextLength, fileType);
    }

    /**
     * llama.cpp's name of the weight mix the model file declares ({@code general.file_type}, see
     * {@link LlamaFileType}), e.g. {@code Q4_K - Medium}; empty when the file does not say or names no mix
     * llama.cpp knows.
     */
    public Optional<String> fileType() {
        return Optional.ofNullable(fileType);
    }

    /**
     * This model, its file declaring the weight mix {@code fileType} (null: none); the returned model takes over
     * the resource, as with {@link #withContextLength}.
     */
    public LlamaModel withFileType(String fileType) {
        return new LlamaModel(name, config, weights, tokenizer, resource, chatTemplate, trainedContextLength,
                fileType);
    }

    /** Buffers for forward passes of up to {@code maxBatch} rows. */
    public ForwardState newState(int maxBatch) {
        return new ForwardState(config, maxBatch);
    }

    /**
     * Runs the prompt tokens {@code tokens[from, to)} at positions {@code startPosition...} of {@code store},
     * in chunks of at most {@code state.maxBatch()} rows, and returns the logits of the last token (a view into
     * {@code state.logits()}, row 0, valid until the next pass).
     */
    public float[] prefill(ForwardState state, int[] tokens, int from, int to, int startPosition, KvStore store) {
        if (from >= to) {
            throw new IllegalArgumentException("prefill needs at least one token");
        }
        int chunk = state.maxBatch;
        int[] positions = new int[chunk];
        int[] rowTokens = new int[chunk];
        KvStore[] stores = new KvStore[chunk];
        java.util.Arrays.fill(stores, store);
        for (int start = from; start < to; start += chunk) {
            int count = Math.min(chunk, to - start);
            for (int i = 0; i < count; i++) {
                rowTokens[i] = tokens[start + i];
                positions[i] = startPosition + (start - from) + i;
            }
            boolean last = start + count == to;
            forward(state, count, rowTokens, positions, stores, last ? new int[] {count - 1} : new int[0]);
        }
        return state.logits;
    }

    /** Runs one token at {@code position} of {@code store} and returns its logits (a view, row 0). */
    public float[] decode(ForwardState state, int token, int position, KvStore store) {
        forward(state, 1, new int[] {token}, new int[] {position}, new KvStore[] {store}, new int[] {0});
        return state.logits;
    }

    /**
     * One forward pass over {@code count} rows: row {@code i} is {@code tokens[i]} at {@code positions[i]} of
     * {@code stores[i]}. Logits are computed only for the rows listed in {@code logitRows} (ascending) and
     * written to {@code state.logits()} in that order.
     */
    public void forward(ForwardState s, int count, int[] tokens, int[] positions, KvStore[] stores, int[] logitRows) {
        if (count <= 0 || count > s.maxBatch) {
            throw new IllegalArgumentException("batch of " + count + " rows; this state holds 1.." + s.maxBatch);
        }
        LlamaConfig c = config;
        int dim = c.dim();
        int qDim = c.qDim();
        int kvDim = c.kvDim();
        int hidden = c.hiddenDim();
        LlamaWeights w = weights;
        for (int i = 0; i < count; i++) {
            int token = tokens[i];
            if (token < 0 || token >= c.vocabularySize()) {
                throw new IllegalArgumentException("token id " + token + " is outside the vocabulary [0, "
                        + c.vocabularySize() + ")");
            }
            if (positions[i] < 0 || positions[i] >= c.contextLength() || positions[i] >= stores[i].capacity()) {
                throw new IllegalArgumentException("position " + positions[i] + " is outside the context (length "
                        + Math.min(c.contextLength(), stores[i].capacity()) + ")");
            }
            weights.tokenEmbedding().copyTo((long) token * dim, s.x, i * dim, dim);
            if (c.gemma() != null) {
                VectorOps.scale(s.x, i * dim, dim, c.gemma().embeddingScale());
            }
        }

        for (int l = 0; l < c.layers(); l++) {
            // Attention: normalise, project to Q/K/V, rotate Q and K by position, store K/V, attend.
            normalizeRows(s.xb, s.x, count, weights.attentionNorm()[l]);
            Matmul.matmul(w.wq()[l], qDim, dim, s.xb, count, s.q);
            Matmul.matmul(w.wk()[l], kvDim, dim, s.xb, count, s.k);
            Matmul.matmul(w.wv()[l], kvDim, dim, s.xb, count, s.v);
            int layer = l;
            Parallel.forRange(count, ROW_GRAIN, (from, to) -> {
                for (int i = from; i < to; i++) {
                    if (w.qBias() != null) {
                        VectorOps.axpy(1f, w.qBias()[layer], 0, s.q, i * qDim, qDim);
                        VectorOps.axpy(1f, w.kBias()[layer], 0, s.k, i * kvDim, kvDim);
                        VectorOps.axpy(1f, w.vBias()[layer], 0, s.v, i * kvDim, kvDim);
                    }
                    if (w.qNorm() != null) {
                        normalizeHeads(s.q, i * qDim, c.heads(), w.qNorm()[layer]);
                        normalizeHeads(s.k, i * kvDim, c.kvHeads(), w.kNorm()[layer]);
                    }
                    rope.rotate(s.q, i * qDim, c.heads(), positions[i]);
                    rope.rotate(s.k, i * kvDim, c.kvHeads(), positions[i]);
                    if (c.gemma() != null && c.gemma().queryScale() != 1f) {
                        VectorOps.scale(s.q, i * qDim, qDim, c.gemma().queryScale());
                    }
                }
            });
            for (int i = 0; i < count; i++) {
                stores[i].write(l, positions[i], s.k, i * kvDim, s.v, i * kvDim);
            }
            attend(s, l, count, positions, stores);
            Matmul.matmul(w.wo()[l], dim, qDim, s.xb, count, s.xb2);
            if (w.postAttentionNorm() != null) {
                normalizeRows(s.xb2, s.xb2, count, w.postAttentionNorm()[l]);
            }
            VectorOps.add(s.x, s.xb2, count * dim);

            // Feed-forward: normalise, SwiGLU (Gemma: gated GELU), project down, add to the residual.
            normalizeRows(s.xb, s.x, count, weights.ffnNorm()[l]);
            Matmul.matmul(weights.w1()[l], hidden, dim, s.xb, count, s.hb);
            Matmul.matmul(weights.w3()[l], hidden, dim, s.xb, count, s.hb2);
            boolean gelu = c.gemma() != null;
            Parallel.forRange(count, ROW_GRAIN, (from, to) -> {
                if (gelu) {
                    VectorOps.geglu(s.hb, s.hb2, from * hidden, (to - from) * hidden);
                } else {
                    VectorOps.swiglu(s.hb, s.hb2, from * hidden, (to - from) * hidden);
                }
            });
            Matmul.matmul(weights.w2()[l], dim, hidden, s.hb, count, s.xb);
            if (w.postFfnNorm() != null) {
                normalizeRows(s.xb, s.xb, count, w.postFfnNorm()[l]);
            }
            VectorOps.add(s.x, s.xb, count * dim);
        }

        if (logitRows.length > 0) {
            s.ensureLogitRows(logitRows.length);
            for (int j = 0; j < logitRows.length; j++) {
                VectorOps.rmsnorm(s.xLogits, j * dim, s.x, logitRows[j] * dim, weights.finalNorm(), dim,
                        c.normEpsilon());
            }
            Matmul.matmul(weights.classifier(), c.vocabularySize(), dim, s.xLogits, logitRows.length, s.logits);
            if (c.gemma() != null) {
                VectorOps.softCap(s.logits, 0, logitRows.length * c.vocabularySize(), c.gemma().finalSoftCap());
            }
        }
    }

    /**
     * {@code out} = RMSNorm({@code in}) * weight for each of {@code count} rows of width dim, rows spread over the
     * cores; {@code out} may be {@code in} (Gemma 2's post-norms normalise in place).
     */
    private void normalizeRows(float[] out, float[] in, int count, float[] weight) {
        int dim = config.dim();
        Parallel.forRange(count, ROW_GRAIN, (from, to) -> {
            for (int i = from; i < to; i++) {
                VectorOps.rmsnorm(out, i * dim, in, i * dim, weight, dim, config.normEpsilon());
            }
        });
    }

    /** RMSNorm in place of each of {@code headCount} heads from {@code offset}, by the same weight. */
    private void normalizeHeads(float[] x, int offset, int headCount, float[] weight) {
        int headSize = config.headSize();
        for (int h = 0; h < headCount; h++) {
            int at = offset + h * headSize;
            VectorOps.rmsnorm(x, at, x, at, weight, headSize, config.normEpsilon());
        }
    }

    /** Attention of every (row, head) pair, spread over the cores; each pair writes its own slice of xb. */
    private void attend(ForwardState s, int layer, int count, int[] positions, KvStore[] stores) {
        int heads = config.heads();
        int headSize = config.headSize();
        int qDim = config.qDim();
        int window = config.windowOf(layer);
        float softCap = config.gemma() == null ? KvStore.NO_SOFT_CAP : config.gemma().attentionSoftCap();
        Parallel.forRange(count * heads, ATTENTION_GRAIN, (start, end) -> {
            int longest = 0;
            for (int row = start / heads; row <= (end - 1) / heads; row++) {
                longest = Math.max(longest, positions[row] + 1);
            }
            float[] scratch = attentionScratch(longest);
            for (int task = start; task < end; task++) {
                int row = task / heads;
                int head = task % heads;
                int offset = row * qDim + head * headSize;
                stores[row].attend(layer, head, positions[row], window, softCap, s.q, offset, s.xb, offset,
                        scratch);
            }
        });
    }

    /**
     * This thread's buffer of attention scores, of at least {@code positions} floats. Sized by the positions
     * attended, never by the context length (which a model file may set to 2^31 - 1); grown by doubling, so a
     * decode that attends one more position each step reallocates rarely.
     */
    private static float[] attentionScratch(int positions) {
        float[] scratch = ATTENTION_SCRATCH.get();
        if (scratch.length < positions) {
            scratch = new float[(int) Math.min(MAX_ARRAY_LENGTH, Math.max(positions, 2L * scratch.length))];
            ATTENTION_SCRATCH.set(scratch);
        }
        return scratch;
    }

    /** Attention scores of the (row, head) pairs a thread works on: reused across tasks, layers and steps. */
    private static final ThreadLocal<float[]> ATTENTION_SCRATCH = ThreadLocal.withInitial(() -> new float[0]);

    /** The longest array the JVM reliably allocates (a few header words below Integer.MAX_VALUE). */
    private static final int MAX_ARRAY_LENGTH = Integer.MAX_VALUE - 8;

    /**
     * Rows per parallel task of the per-row steps (norms, RoPE, SwiGLU): prefill spreads them over the cores,
     * where their exp, sin and cos would otherwise run on one core beside parallel matmuls; decode's single row
     * stays on the calling thread.
     */
    private static final int ROW_GRAIN = 8;

    /** (row, head) pairs per parallel task: few enough to spread a single decode's heads over the cores. */
    private static final int ATTENTION_GRAIN = 2;

    @Override
    public void close() {
        if (resource != null) {
            try {
                resource.close();
            } catch (Exception e) {
                throw new IllegalStateException("closing " + name + " failed", e);
            }
        }
    }

    @Override
    public String toString() {
        return name + " " + config;
    }
}
