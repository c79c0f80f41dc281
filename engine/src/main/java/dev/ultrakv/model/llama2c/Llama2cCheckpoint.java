package dev.ultrakv.model.llama2c;

import dev.ultrakv.model.LlamaConfig;
import dev.ultrakv.model.LlamaWeights;
import dev.ultrakv.model.ModelFormatException;
import dev.ultrakv.tensor.FloatTensor;
import dev.ultrakv.tensor.GgmlType;
import dev.ultrakv.tensor.Tensors;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * Reads a llama2.c "legacy" checkpoint: a header of seven int32 (dim, hidden_dim, n_layers, n_heads,
 * n_kv_heads, vocab_size, seq_len) followed by float32 arrays, all little-endian.
 *
 * <p>Array order: token embedding (vocab, dim); rms_att (L, dim); wq (L, dim, dim); wk (L, kvDim, dim);
 * wv (L, kvDim, dim); wo (L, dim, dim); rms_ffn (L, dim); w1 (L, hidden, dim); w2 (L, dim, hidden);
 * w3 (L, hidden, dim); rms_final (dim); the old RoPE tables (seq_len * head_size / 2 floats, twice; skipped);
 * then the classifier (vocab, dim) only when vocab_size was negative. The weights are read in place from the
 * segment (no copy of the matrices).
 */
public final class Llama2cCheckpoint {
    /** Header fields, each an int32. */
    public static final int HEADER_INTS = 7;
    private static final long HEADER_BYTES = HEADER_INTS * Integer.BYTES;
    /** llama2.c's RoPE base and RMSNorm epsilon are fixed in run.c, not stored in the file. */
    private static final float ROPE_THETA = 10000f;
    private static final float NORM_EPSILON = 1e-5f;
    private static final ValueLayout.OfInt INT_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfFloat FLOAT_LE =
            ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private final LlamaConfig config;
    private final LlamaWeights weights;

    private Llama2cCheckpoint(LlamaConfig config, LlamaWeights weights) {
        this.config = config;
        this.weights = weights;
    }

    public LlamaConfig config() {
        return config;
    }

    public LlamaWeights weights() {
        return weights;
    }

    /**
     * Reads the checkpoint held in {@code data}.
     *
     * @param source the file the data came from, for messages
     * @throws ModelFormatException if the header is invalid or the data is shorter than the header implies
     */
    public static Llama2cCheckpoint read(MemorySegment data, Path source) {
        LlamaConfig config = header(data, source);
        long expected;
        try {
            expected = expectedBytes(config);
        } catch (ArithmeticException e) {
            throw new ModelFormatException(source, "not a llama2.c checkpoint: its header (" + describe(config)
                    + ") implies more than 2^63 bytes");
        }
        if (data.byteSize() < expected) {
            throw new ModelFormatException(source, "truncated llama2.c checkpoint: " + data.byteSize()
                    + " bytes, but its header (dim=" + config.dim() + ", n_layers=" + config.layers()
                    + ", vocab_size=" + signedVocabulary(config) + ") needs " + expected);
        }
        return new Llama2cCheckpoint(config, new Reader(data, config).weights());
    }

    private static String describe(LlamaConfig c) {
        return "dim=" + c.dim() + ", hidden_dim=" + c.hiddenDim() + ", n_layers=" + c.layers() + ", vocab_size="
                + signedVocabulary(c) + ", seq_len=" + c.contextLength();
    }

    /** The header's vocab_size: negative when the classifier is a separate matrix. */
    private static int signedVocabulary(LlamaConfig c) {
        return c.sharedClassifier() ? c.vocabularySize() : -c.vocabularySize();
    }

    /**
     * The configuration in a checkpoint's header: the first {@value #HEADER_INTS} little-endian ints of
     * {@code data}, which may hold the header alone.
     *
     * @throws ModelFormatException if the data is shorter than the header or the header is invalid
     */
    public static LlamaConfig header(MemorySegment data, Path source) {
        if (data.byteSize() < HEADER_BYTES) {
            throw new ModelFormatException(source, "truncated llama2.c checkpoint: " + data.byteSize()
                    + " bytes, shorter than its " + HEADER_BYTES + "-byte header");
        }
        int dim = data.get(INT_LE, 0);
        int hidden = data.get(INT_LE, 4);
        int layers = data.get(INT_LE, 8);
        int heads = data.get(INT_LE, 12);
        int kvHeads = data.get(INT_LE, 16);
        int signedVocab = data.get(INT_LE, 20);
        int seqLen = data.get(INT_LE, 24);
        boolean shared = signedVocab > 0;
        int vocab = Math.abs(signedVocab);
        LlamaConfig config;
        try {
            config = new LlamaConfig(dim, hidden, layers, heads, kvHeads, vocab, seqLen, ROPE_THETA, NORM_EPSILON,
                    shared);
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(source, "not a llama2.c checkpoint: header (dim=" + dim + ", hidden_dim="
                    + hidden + ", n_layers=" + layers + ", n_heads=" + heads + ", n_kv_heads=" + kvHeads
                    + ", vocab_size=" + signedVocab + ", seq_len=" + seqLen + ") is invalid: " + e.getMessage());
        }
        return config;
    }

    /**
     * Bytes a checkpoint with this configuration takes, header included. Every array the reader makes is sized by
     * the header, so the data is checked against this before any is made.
     *
     * @throws ArithmeticException if the count overflows a long (a corrupt header: dims near 2^31)
     */
    static long expectedBytes(LlamaConfig c) {
        long dim = c.dim();
        long kvDim = c.kvDim();
        long hidden = c.hiddenDim();
        long perLayer = 2 * dim;                                                   // the two RMSNorm weights
        perLayer = Math.addExact(perLayer, Math.multiplyExact(2, Math.multiplyExact(dim, dim)));      // wq, wo
        perLayer = Math.addExact(perLayer, Math.multiplyExact(2, Math.multiplyExact(kvDim, dim)));    // wk, wv
        perLayer = Math.addExact(perLayer, Math.multiplyExact(3, Math.multiplyExact(hidden, dim)));   // w1-w3
        long embedding = Math.multiplyExact((long) c.vocabularySize(), dim);
        long floats = Math.addExact(Math.multiplyExact(c.layers(), perLayer), dim);
        floats = Math.addExact(floats, (long) c.contextLength() * c.headSize());   // the two skipped RoPE tables
        floats = Math.addExact(floats, c.sharedClassifier() ? embedding : Math.multiplyExact(2, embedding));
        return Math.addExact(HEADER_BYTES, Math.multiplyExact(floats, Float.BYTES));
    }

    /** Walks the arrays in file order. */
    private static final class Reader {
        private final MemorySegment data;
        private final LlamaConfig c;
        private long offset = HEADER_BYTES;

        Reader(MemorySegment data, LlamaConfig c) {
            this.data = data;
            this.c = c;
        }

        LlamaWeights weights() {
            int dim = c.dim();
            int kvDim = c.kvDim();
            int hidden = c.hiddenDim();
            int layers = c.layers();
            FloatTensor embedding = tensor((long) c.vocabularySize() * dim);
            float[][] rmsAtt = vectors(layers, dim);
            FloatTensor[] wq = matrices(layers, (long) dim * dim);
            FloatTensor[] wk = matrices(layers, (long) kvDim * dim);
            FloatTensor[] wv = matrices(layers, (long) kvDim * dim);
            FloatTensor[] wo = matrices(layers, (long) dim * dim);
            float[][] rmsFfn = vectors(layers, dim);
            FloatTensor[] w1 = matrices(layers, (long) hidden * dim);
            FloatTensor[] w2 = matrices(layers, (long) dim * hidden);
            FloatTensor[] w3 = matrices(layers, (long) hidden * dim);
            float[] rmsFinal = vectors(1, dim)[0];
            offset += (long) c.contextLength() * c.headSize() * Float.BYTES;
            FloatTensor classifier = c.sharedClassifier() ? embedding : tensor((long) c.vocabularySize() * dim);
            return new LlamaWeights(embedding, rmsAtt, wq, wk, wv, wo, rmsFfn, w1, w2, w3, rmsFinal, classifier);
        }

        private FloatTensor tensor(long elements) {
            long bytes = elements * Float.BYTES;
            FloatTensor t = Tensors.wrap(GgmlType.F32, data.asSlice(offset, bytes), elements);
            offset += bytes;
            return t;
        }

        private FloatTensor[] matrices(int layers, long elementsEach) {
            FloatTensor[] out = new FloatTensor[layers];
            for (int l = 0; l < layers; l++) {
                out[l] = tensor(elementsEach);
            }
            return out;
        }

        private float[][] vectors(int count, int size) {
            float[][] out = new float[count][size];
            for (int i = 0; i < count; i++) {
                for (int j = 0; j < size; j++) {
                    out[i][j] = data.get(FLOAT_LE, offset);
                    offset += Float.BYTES;
                }
            }
            return out;
        }
    }
}
