package dev.ultrakv.model.synthetic;

import dev.ultrakv.model.Architecture;
import dev.ultrakv.model.gguf.GgufFile;
import dev.ultrakv.model.gguf.GgufTensorInfo;
import dev.ultrakv.model.gguf.GgufValue;
import dev.ultrakv.model.gguf.GgufValueType;
import dev.ultrakv.model.gguf.GgufWriter;
import dev.ultrakv.model.quantize.QuantizeMix;
import dev.ultrakv.tensor.GgmlType;
import dev.ultrakv.tensor.TensorEncoder;

import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;

/**
 * Llama models with seeded random weights, in the GGUF layout llama.cpp loads, for tests and benchmarks of
 * shapes we have no trained weights for.
 *
 * <p>{@link #create} builds the model in memory (off-heap); {@link #write} streams it to a file tensor by
 * tensor in bounded memory, and produces exactly the bytes that writing the in-memory model would.
 *
 * <h2>Weights</h2>
 * Each tensor draws from its own generator seeded from (seed, tensor name), so tensors can be generated in
 * any order and independently. Magnitudes follow GPT-2's initialization, kept conservative so that activations
 * stay finite and the output distribution does not collapse onto one token through many layers:
 * <ul>
 *   <li>norm weights ({@code attn_norm}, {@code ffn_norm}, {@code output_norm}): exactly 1.0, always F32
 *       (llama.cpp keeps 1-D tensors F32 in quantized files);</li>
 *   <li>matrices: zero-mean, standard deviation {@value #INIT_STD}, from an Irwin-Hall sum of four uniforms
 *       (close to normal, bounded at about 3.5 sigma, so no outliers spoil the quantization scales);</li>
 *   <li>the projections that write into the residual stream ({@code attn_output}, {@code ffn_down}):
 *       additionally scaled by {@code 1/sqrt(2 * layers)}, so the residual grows like a sum of small terms.</li>
 * </ul>
 * With RMSNorm in front of every matrix, the inputs have unit RMS; a projection of width {@code n} then has
 * outputs of standard deviation about {@code 0.02 * sqrt(n)} (0.55 for {@code dim} 768), and the logits the
 * same, so the next-token distribution is broad but not uniform. The matrices are not orthogonal and there is
 * no training: expect gibberish, not NaN.
 *
 * <p>Families other than the plain Llama of the first shapes draw their norm weights around 1 (standard deviation
 * {@value #NORM_STD}), so that a norm applied in the wrong place, or one norm confused with another, changes the
 * logits; their biases are drawn like the matrices. Llama 3's {@code rope_freqs.weight} holds the frequency
 * factors that llama.cpp's converter computes.
 *
 * <h2>Tensors and metadata</h2>
 * Tensor names and shapes are llama.cpp's ({@code token_embd.weight} {@code [dim, vocab]}, per layer
 * {@code blk.i.attn_q.weight} {@code [dim, qDim]} and so on; Phi-3's fused {@code attn_qkv} and {@code ffn_up});
 * the metadata has every hyperparameter llama.cpp reads for the architecture and a {@link SyntheticVocabulary}
 * (SentencePiece, which llama.cpp accepts for every architecture here).
 */
public final class SyntheticModel {

    /** Standard deviation of the matrix weights (GPT-2's initializer range). */
    public static final float INIT_STD = 0.02f;
    /** RoPE base frequency, Llama 2's. */
    public static final float ROPE_FREQ_BASE = 10000f;
    /** Standard deviation of the norm weights around 1, in families other than the plain Llama. */
    public static final float NORM_STD = 0.1f;
    /** Llama 3.1's RoPE scaling as its config.json gives it, from which the frequency factors are computed. */
    private static final double LLAMA3_FACTOR = 8;
    private static final double LLAMA3_LOW_FREQ_FACTOR = 1;
    private static final double LLAMA3_HIGH_FREQ_FACTOR = 4;
    private static final double LLAMA3_ORIGINAL_CONTEXT = 8192;
    /** RMSNorm epsilon, Llama 2's. */
    public static final float RMS_NORM_EPS = 1e-5f;
    /** The control token llama.cpp requires in a model whose name says Phi-3. */
    private static final String PHI3_END_OF_TEXT = "<|endoftext|>";
    /** Gemma 2's soft caps of the attention scores and of the logits (its config.json's). */
    private static final float GEMMA2_ATTENTION_SOFT_CAP = 50f;
    private static final float GEMMA2_FINAL_SOFT_CAP = 30f;
    /** ggml's quantization format version (GGML_QNT_VERSION), which llama.cpp's converter always writes. */
    private static final int QUANTIZATION_VERSION = 2;
    /** Elements generated and encoded at a time; a multiple of every block size. */
    private static final int CHUNK = 1 << 16;
    /** Scales an Irwin-Hall sum of four uniforms (variance 4/12) to unit variance. */
    private static final double IRWIN_HALL_4_SCALE = Math.sqrt(3.0);
    /** Scales a 16-bit integer to [0, 1). */
    private static final double TWO_POW_MINUS_16 = 1.0 / 65536;

    private SyntheticModel() {
    }

    /**
     * The model in memory, owning an off-heap arena that {@link GgufFile#close()} frees.
     *
     * @param dtype the type of the matrices ({@link #supports supported types}); norms are always F32
     * @param seed  the seed: the same seed gives the same bytes
     */
    public static GgufFile create(SyntheticShape shape, GgmlType dtype, long seed) {
        SequencedMap<String, GgufValue> metadata = metadata(shape, dtype);
        List<GgufTensorInfo> tensors = tensors(shape, dtype);
        Arena arena = Arena.ofShared();
        try {
            MemorySegment data = arena.allocate(GgufWriter.dataSize(tensors, GgufFile.DEFAULT_ALIGNMENT), CHUNK);
            for (GgufTensorInfo t : tensors) {
                generate(shape, t, seed, (floats, byteOffset) ->
                        TensorEncoder.encode(t.type(), floats, data, t.offset() + byteOffset));
            }
            return GgufFile.of("<synthetic " + shape.name() + " " + dtype + ">", metadata, tensors, data, arena);
        } catch (IOException e) {
            arena.close();
            throw new AssertionError("writing to memory does no I/O", e);
        } catch (RuntimeException | Error e) {
            arena.close();
            throw e;
        }
    }

    /**
     * Writes the model to {@code path}, generating one chunk of a tensor at a time, so memory stays small
     * whatever the model's size. The bytes are those of {@code GgufWriter.write(create(shape, dtype, seed), path)}.
     *
     * @throws IOException if writing fails
     */
    public static void write(SyntheticShape shape, GgmlType dtype, long seed, Path path) throws IOException {
        List<GgufTensorInfo> tensors = tensors(shape, dtype);
        MemorySegment buffer = MemorySegment.ofArray(new byte[CHUNK * Float.BYTES]);
        GgufWriter.write(path, metadata(shape, dtype), tensors, (t, out) ->
                generate(shape, t, seed, (floats, byteOffset) -> {
                    TensorEncoder.encode(t.type(), floats, buffer, 0);
                    ByteBuffer bytes = buffer.asSlice(0, t.type().bytesFor(floats.length)).asByteBuffer();
                    while (bytes.hasRemaining()) {
                        out.write(bytes);
                    }
                }));
    }

    /** Whether {@code dtype} can be used for the matrices of {@code shape} (whole blocks per row). */
    public static boolean supports(SyntheticShape shape, GgmlType dtype) {
        return shape.dim() % dtype.blockSize() == 0 && shape.ffn() % dtype.blockSize() == 0
                && shape.qDim() % dtype.blockSize() == 0;
    }

    /** The metadata of the model, in file order. */
    public static SequencedMap<String, GgufValue> metadata(SyntheticShape shape, GgmlType dtype) {
        SyntheticVocabulary vocab = SyntheticVocabulary.of(shape.vocab());
        SequencedMap<String, GgufValue> m = new LinkedHashMap<>();
        SyntheticFamily family = shape.family();
        String a = family.architecture().ggufName();
        m.put("general.architecture", GgufValue.string(a));
        m.put("general.name", GgufValue.string(shape.name()));
        m.put("general.file_type", GgufValue.uint32(fileType(dtype)));
        m.put("general.quantization_version", GgufValue.uint32(QUANTIZATION_VERSION));
        m.put(GgufFile.ALIGNMENT_KEY, GgufValue.uint32(GgufFile.DEFAULT_ALIGNMENT));
        m.put(a + ".vocab_size", GgufValue.uint32(shape.vocab()));
        m.put(a + ".context_length", GgufValue.uint32(shape.contextLength()));
        m.put(a + ".embedding_length", GgufValue.uint32(shape.dim()));
        m.put(a + ".block_count", GgufValue.uint32(shape.layers()));
        m.put(a + ".feed_forward_length", GgufValue.uint32(shape.ffn()));
        m.put(a + ".rope.dimension_count", GgufValue.uint32(shape.headSize()));
        m.put(a + ".attention.head_count", GgufValue.uint32(shape.heads()));
        m.put(a + ".attention.head_count_kv", GgufValue.uint32(shape.kvHeads()));
        if (family.keyLength() != 0) {
            m.put(a + ".attention.key_length", GgufValue.uint32(family.keyLength()));
            m.put(a + ".attention.value_length", GgufValue.uint32(family.keyLength()));
        }
        if (family.slidingWindow() != 0) {
            m.put(a + ".attention.sliding_window", GgufValue.uint32(family.slidingWindow()));
        }
        if (family.architecture() == Architecture.GEMMA2) {
            m.put(a + ".attn_logit_softcapping", GgufValue.float32(GEMMA2_ATTENTION_SOFT_CAP));
            m.put(a + ".final_logit_softcapping", GgufValue.float32(GEMMA2_FINAL_SOFT_CAP));
        }
        m.put(a + ".rope.freq_base", GgufValue.float32(family.ropeTheta()));
        m.put(a + ".attention.layer_norm_rms_epsilon", GgufValue.float32(RMS_NORM_EPS));
        String[] tokens = vocab.tokens().toArray(String[]::new);
        float[] scores = vocab.scores();
        int[] types = vocab.tokenTypes();
        if (family.architecture() == Architecture.PHI3) {
            // llama.cpp marks Phi-3's special tokens by name and fails on a vocabulary without this one; the real
            // vocabulary has it right after SentencePiece's pieces, as a control token.
            tokens[tokens.length - 1] = PHI3_END_OF_TEXT;
            scores[scores.length - 1] = 0;
            types[types.length - 1] = SyntheticVocabulary.TYPE_CONTROL;
        }
        m.put("tokenizer.ggml.model", GgufValue.string("llama"));
        m.put("tokenizer.ggml.tokens", GgufValue.stringArray(Arrays.asList(tokens)));
        m.put("tokenizer.ggml.scores", GgufValue.float32Array(scores));
        m.put("tokenizer.ggml.token_type", GgufValue.int32Array(types));
        m.put("tokenizer.ggml.bos_token_id", GgufValue.uint32(SyntheticVocabulary.BOS_ID));
        m.put("tokenizer.ggml.eos_token_id", GgufValue.uint32(SyntheticVocabulary.EOS_ID));
        m.put("tokenizer.ggml.unknown_token_id", GgufValue.uint32(SyntheticVocabulary.UNK_ID));
        m.put("tokenizer.ggml.add_bos_token", GgufValue.bool(true));
        m.put("tokenizer.ggml.add_eos_token", GgufValue.bool(false));
        return m;
    }

    /** llama.cpp's {@code general.file_type} (enum llama_ftype) for a model whose matrices are {@code dtype}. */
    static int fileType(GgmlType dtype) {
        // A single K-quant everywhere is llama.cpp's "small" mix of that type, the first mix named for it.
        return QuantizeMix.firstWithBaseType(dtype).fileType();
    }

    /**
     * The tensors of the model, in file order, with their offsets.
     *
     * @throws IllegalArgumentException if rows of {@code shape} are not whole blocks of {@code dtype}
     */
    public static List<GgufTensorInfo> tensors(SyntheticShape shape, GgmlType dtype) {
        if (!supports(shape, dtype)) {
            throw new IllegalArgumentException(shape.name() + ": dim " + shape.dim() + " and ffn " + shape.ffn()
                    + " must be multiples of " + dtype + "'s block size " + dtype.blockSize());
        }
        int dim = shape.dim();
        int qDim = shape.qDim();
        int kvDim = shape.kvDim();
        int ffn = shape.ffn();
        Architecture a = shape.family().architecture();
        List<GgufTensorInfo> t = new ArrayList<>();
        t.add(info("token_embd.weight", dtype, dim, shape.vocab()));
        if (shape.family().llama3Rope()) {
            t.add(info("rope_freqs.weight", GgmlType.F32, shape.headSize() / 2));
        }
        t.add(info("output_norm.weight", GgmlType.F32, dim));
        if (!shape.family().tied()) {
            t.add(info("output.weight", dtype, dim, shape.vocab()));
        }
        for (int i = 0; i < shape.layers(); i++) {
            String p = "blk." + i + ".";
            t.add(info(p + "attn_norm.weight", GgmlType.F32, dim));
            if (a == Architecture.PHI3) {
                t.add(info(p + "attn_qkv.weight", dtype, dim, qDim + 2L * kvDim));
            } else {
                t.add(info(p + "attn_q.weight", dtype, dim, qDim));
                t.add(info(p + "attn_k.weight", dtype, dim, kvDim));
                t.add(info(p + "attn_v.weight", dtype, dim, kvDim));
            }
            if (a == Architecture.QWEN2) {
                t.add(info(p + "attn_q.bias", GgmlType.F32, qDim));
                t.add(info(p + "attn_k.bias", GgmlType.F32, kvDim));
                t.add(info(p + "attn_v.bias", GgmlType.F32, kvDim));
            }
            if (a == Architecture.QWEN3) {
                t.add(info(p + "attn_q_norm.weight", GgmlType.F32, shape.headSize()));
                t.add(info(p + "attn_k_norm.weight", GgmlType.F32, shape.headSize()));
            }
            t.add(info(p + "attn_output.weight", dtype, qDim, dim));
            if (a == Architecture.GEMMA2) {
                t.add(info(p + "post_attention_norm.weight", GgmlType.F32, dim));
            }
            t.add(info(p + "ffn_norm.weight", GgmlType.F32, dim));
            if (a == Architecture.PHI3) {
                t.add(info(p + "ffn_up.weight", dtype, dim, 2L * ffn));
                t.add(info(p + "ffn_down.weight", dtype, ffn, dim));
            } else {
                t.add(info(p + "ffn_gate.weight", dtype, dim, ffn));
                t.add(info(p + "ffn_down.weight", dtype, ffn, dim));
                t.add(info(p + "ffn_up.weight", dtype, dim, ffn));
            }
            if (a == Architecture.GEMMA2) {
                t.add(info(p + "post_ffw_norm.weight", GgmlType.F32, dim));
            }
        }
        return GgufWriter.layOut(t, GgufFile.DEFAULT_ALIGNMENT);
    }

    private static GgufTensorInfo info(String name, GgmlType type, long... shape) {
        return new GgufTensorInfo(name, shape, type, 0);
    }

    /** Receives the floats of a tensor chunk by chunk, with the byte offset of the chunk in the tensor. */
    @FunctionalInterface
    private interface ChunkSink {
        void accept(float[] floats, long byteOffset) throws IOException;
    }

    /** Generates the values of {@code t} in chunks of {@link #CHUNK} and hands each to {@code sink}. */
    private static void generate(SyntheticShape shape, GgufTensorInfo t, long seed, ChunkSink sink)
            throws IOException {
        long n = t.elementCount();
        if (t.name().equals("rope_freqs.weight")) {
            sink.accept(llama3RopeFactors(shape.family().ropeTheta(), shape.headSize()), 0);
            return;
        }
        boolean norm = t.name().endsWith("norm.weight");
        boolean exactNorms = shape.family().equals(SyntheticFamily.LLAMA);
        boolean residual = t.name().endsWith("attn_output.weight") || t.name().endsWith("ffn_down.weight");
        double std = residual ? INIT_STD / Math.sqrt(2.0 * shape.layers()) : INIT_STD;
        SplitMix64 rng = new SplitMix64(tensorSeed(seed, t.name()));
        float[] chunk = new float[(int) Math.min(CHUNK, n)];
        for (long done = 0; done < n; done += chunk.length) {
            if (n - done < chunk.length) {
                chunk = new float[(int) (n - done)];
            }
            for (int i = 0; i < chunk.length; i++) {
                if (norm) {
                    chunk[i] = exactNorms ? 1.0f : (float) (1 + NORM_STD * rng.nextNormalish());
                } else {
                    chunk[i] = (float) (std * rng.nextNormalish());
                }
            }
            sink.accept(chunk, t.type().bytesFor(done));
        }
    }

    /**
     * Llama 3.1's RoPE frequency factors for heads of {@code headSize}: 1 for wavelengths under the original
     * context over the high-frequency factor, the factor above the original context over the low-frequency
     * factor, and a smooth blend between (the rule of Meta's reference code and llama.cpp's converter).
     */
    public static float[] llama3RopeFactors(float theta, int headSize) {
        float[] factors = new float[headSize / 2];
        double lowFreqWavelength = LLAMA3_ORIGINAL_CONTEXT / LLAMA3_LOW_FREQ_FACTOR;
        double highFreqWavelength = LLAMA3_ORIGINAL_CONTEXT / LLAMA3_HIGH_FREQ_FACTOR;
        for (int i = 0; i < factors.length; i++) {
            double freq = 1.0 / Math.pow(theta, 2.0 * i / headSize);
            double wavelength = 2 * Math.PI / freq;
            if (wavelength < highFreqWavelength) {
                factors[i] = 1;
            } else if (wavelength > lowFreqWavelength) {
                factors[i] = (float) LLAMA3_FACTOR;
            } else {
                double smooth = (LLAMA3_ORIGINAL_CONTEXT / wavelength - LLAMA3_LOW_FREQ_FACTOR)
                        / (LLAMA3_HIGH_FREQ_FACTOR - LLAMA3_LOW_FREQ_FACTOR);
                factors[i] = (float) (1 / ((1 - smooth) / LLAMA3_FACTOR + smooth));
            }
        }
        return factors;
    }

    /** Seed of the generator of the tensor {@code name}: a mix of {@code seed} and a hash of the name. */
    static long tensorSeed(long seed, String name) {
        long h = 0xcbf29ce484222325L; // FNV-1a 64 offset basis
        for (byte b : name.getBytes(StandardCharsets.UTF_8)) {
            h = (h ^ (b & 0xff)) * 0x100000001b3L; // FNV-1a 64 prime
        }
        return SplitMix64.mix(SplitMix64.mix(seed) ^ h);
    }

    /**
     * SplitMix64 (Steele, Lea and Flood, 2014), written out rather than {@link java.util.SplittableRandom} so
     * that the weights, and the bytes of synthetic model files, cannot change with the JDK.
     */
    private static final class SplitMix64 {
        /** The golden-ratio increment of SplitMix64. */
        private static final long GAMMA = 0x9e3779b97f4a7c15L;
        private long state;

        SplitMix64(long seed) {
            this.state = seed;
        }

        long nextLong() {
            state += GAMMA;
            return mix(state);
        }

        /** Zero mean, unit variance: the sum of four 16-bit uniforms, centred and scaled. */
        double nextNormalish() {
            long r = nextLong();
            double sum = 0;
            for (int i = 0; i < 4; i++) {
                sum += ((r >>> (16 * i)) & 0xffff) + 0.5;
            }
            return (sum * TWO_POW_MINUS_16 - 2.0) * IRWIN_HALL_4_SCALE;
        }

        /** The SplitMix64 finalizer (a variant of MurmurHash3's). */
        static long mix(long z) {
            z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
            z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
            return z ^ (z >>> 31);
        }
    }
}
