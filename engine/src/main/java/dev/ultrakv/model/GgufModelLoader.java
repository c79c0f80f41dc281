package dev.ultrakv.model;

import dev.ultrakv.model.gguf.GgufFile;
import dev.ultrakv.model.gguf.GgufTensorInfo;
import dev.ultrakv.model.gguf.GgufValue;
import dev.ultrakv.model.gguf.GgufValueType;
import dev.ultrakv.tensor.FloatTensor;
import dev.ultrakv.tensor.Tensors;
import dev.ultrakv.tokenizer.Gpt2BpeTokenizer;
import dev.ultrakv.tokenizer.PreTokenizer;
import dev.ultrakv.tokenizer.SentencePieceTokenizer;
import dev.ultrakv.tokenizer.Tokenizer;
import dev.ultrakv.tokenizer.VocabularySettings;

import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Builds a {@link LlamaModel} from a GGUF file of one of the {@link Architecture architectures} it runs, as
 * llama.cpp names their keys and tensors. Matrices keep their stored type and are read in place (a fused matrix,
 * Phi-3's {@code attn_qkv} and {@code ffn_up}, as views of its row ranges); the tokenizer comes from the
 * {@code tokenizer.ggml.*} metadata.
 */
public final class GgufModelLoader {
    private static final String FILE_TYPE = "general.file_type";

    private GgufModelLoader() {
    }

    /**
     * Memory-maps and loads a GGUF model file; the model owns the mapping and releases it when closed.
     *
     * @throws ModelFormatException naming the file and the problem
     */
    public static LlamaModel load(Path file) {
        GgufFile gguf;
        try {
            gguf = GgufFile.read(file);
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot be read: " + e.getMessage(), e);
        }
        try {
            return load(gguf, ModelLoader.fileName(file));
        } catch (RuntimeException e) {
            gguf.close();
            throw e;
        }
    }

    /**
     * Loads a model from a parsed (or in-memory synthetic) GGUF file. The model closes {@code gguf} when closed.
     *
     * @throws ModelFormatException naming the source and the problem
     */
    public static LlamaModel load(GgufFile gguf, String name) {
        String source = gguf.source();
        Architecture architecture;
        try {
            architecture = Architecture.fromGguf(gguf.getStringOrDefault("general.architecture", "(none)"));
        } catch (IllegalArgumentException e) {
            throw new ModelFormatException(source, e.getMessage(), e);
        }
        try {
            Tokenizer tokenizer = tokenizer(gguf);
            LlamaConfig config = GgufHyperParameters.read(gguf, architecture, tokenizer.vocabularySize());
            LlamaWeights weights = weights(gguf, architecture, config);
            LlamaModel model = new LlamaModel(name, config, weights, tokenizer, gguf,
                    gguf.getStringOrDefault("tokenizer.chat_template", null));
            return model.withFileType(fileType(gguf));
        } catch (ModelFormatException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new ModelFormatException(source, e.getMessage(), e);
        }
    }

    /**
     * llama.cpp's name of the weight mix the file declares; null when it declares none, or not as an integer, or
     * one llama.cpp does not know (the key is informational: it never stops a model from loading).
     */
    private static String fileType(GgufFile gguf) {
        if (gguf.find(FILE_TYPE).orElse(null) instanceof GgufValue.Int(GgufValueType type, long id) && id == (int) id) {
            return LlamaFileType.name((int) id).orElse(null);
        }
        return null;
    }

    /**
     * Reads only the tokenizer of a GGUF file: a model's, or a vocabulary-only file such as llama.cpp's
     * {@code ggml-vocab-*.gguf}, which has no tensors.
     *
     * @throws ModelFormatException naming the file and the problem
     */
    public static Tokenizer loadTokenizer(Path file) {
        try (GgufFile gguf = GgufFile.read(file)) {
            return tokenizer(gguf);
        } catch (IOException e) {
            throw new ModelFormatException(file, "cannot be read: " + e.getMessage(), e);
        } catch (ModelFormatException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new ModelFormatException(file, e.getMessage(), e);
        }
    }

    /** llama.cpp's special token ids for a SentencePiece ({@code llama}) vocabulary that does not name them. */
    private static final int SPM_DEFAULT_BOS = 1;
    private static final int SPM_DEFAULT_EOS = 2;
    private static final int SPM_DEFAULT_UNK = 0;
    /** llama.cpp's BOS and EOS for a {@code gpt2} vocabulary that does not name them (GPT-NeoX's). */
    private static final int BPE_DEFAULT_SPECIAL = 11;

    /**
     * The tokenizer of the {@code tokenizer.ggml.*} metadata, with llama.cpp's defaults for what is absent; a
     * special token id outside the vocabulary is refused (llama.cpp only warns), naming the key and the value.
     */
    private static Tokenizer tokenizer(GgufFile g) {
        String model = g.getString("tokenizer.ggml.model");
        List<String> tokens = Arrays.asList(g.getStringArray("tokenizer.ggml.tokens"));
        int[] types = g.getIntArrayOrDefault("tokenizer.ggml.token_type", normalTypes(tokens.size()));
        String name = g.getStringOrDefault("general.name", null);
        boolean addEos = g.getBooleanOrDefault("tokenizer.ggml.add_eos_token", false);
        return switch (model) {
            case "llama" -> SentencePieceTokenizer.fromGguf(tokens, g.getFloatArray("tokenizer.ggml.scores"), types,
                    specialId(g, "tokenizer.ggml.unknown_token_id", SPM_DEFAULT_UNK, tokens.size()),
                    g.getBooleanOrDefault("tokenizer.ggml.add_space_prefix", true),
                    new VocabularySettings(specialId(g, "tokenizer.ggml.bos_token_id", SPM_DEFAULT_BOS, tokens.size()),
                            specialId(g, "tokenizer.ggml.eos_token_id", SPM_DEFAULT_EOS, tokens.size()),
                            g.getBooleanOrDefault("tokenizer.ggml.add_bos_token", true), addEos, name));
            case "gpt2" -> {
                PreTokenizer pre = PreTokenizer.forName(g.getStringOrDefault("tokenizer.ggml.pre", null));
                yield Gpt2BpeTokenizer.fromGguf(tokens, Arrays.asList(g.getStringArray("tokenizer.ggml.merges")),
                        types, pre, new VocabularySettings(
                                specialId(g, "tokenizer.ggml.bos_token_id", BPE_DEFAULT_SPECIAL, tokens.size()),
                                specialId(g, "tokenizer.ggml.eos_token_id", BPE_DEFAULT_SPECIAL, tokens.size()),
                                g.getBooleanOrDefault("tokenizer.ggml.add_bos_token", pre.addsBosByDefault()),
                                addEos, name));
            }
            default -> throw new ModelFormatException(g.source(), "unsupported tokenizer model '" + model
                    + "' (supported: llama, gpt2)");
        };
    }

    private static int specialId(GgufFile g, String key, int defaultId, int vocabularySize) {
        int id = g.getIntOrDefault(key, defaultId);
        if (id < 0 || id >= vocabularySize) {
            throw new ModelFormatException(g.source(), key + " = " + id + " is outside the vocabulary of "
                    + vocabularySize + " tokens");
        }
        return id;
    }

    private static int[] normalTypes(int n) {
        int[] types = new int[n];
        Arrays.fill(types, 1);
        return types;
    }

    private static LlamaWeights weights(GgufFile g, Architecture a, LlamaConfig c) {
        int layers = c.layers();
        int dim = c.dim();
        int qDim = c.qDim();
        int kvDim = c.kvDim();
        int hidden = c.hiddenDim();
        FloatTensor embedding = matrix(g, "token_embd.weight", dim, c.vocabularySize());
        Optional<GgufTensorInfo> output = g.findTensor("output.weight");
        if (output.isEmpty() && a == Architecture.PHI3) {
            throw new ModelFormatException(g.source(), "tensor output.weight is missing (Phi-3 has its own)");
        }
        // Gemma 2 always ties its classifier to the embedding, as llama.cpp does (it never reads output.weight).
        FloatTensor classifier = output.isPresent() && a != Architecture.GEMMA2
                ? matrix(g, "output.weight", dim, c.vocabularySize()) : embedding;
        float[][] attentionNorm = new float[layers][];
        float[][] ffnNorm = new float[layers][];
        FloatTensor[] wq = new FloatTensor[layers];
        FloatTensor[] wk = new FloatTensor[layers];
        FloatTensor[] wv = new FloatTensor[layers];
        FloatTensor[] wo = new FloatTensor[layers];
        FloatTensor[] w1 = new FloatTensor[layers];
        FloatTensor[] w2 = new FloatTensor[layers];
        FloatTensor[] w3 = new FloatTensor[layers];
        boolean biases = a == Architecture.QWEN2;
        boolean headNorms = a == Architecture.QWEN3;
        float[][] qBias = biases ? new float[layers][] : null;
        float[][] kBias = biases ? new float[layers][] : null;
        float[][] vBias = biases ? new float[layers][] : null;
        float[][] qNorm = headNorms ? new float[layers][] : null;
        float[][] kNorm = headNorms ? new float[layers][] : null;
        boolean postNorms = a == Architecture.GEMMA2;
        float[][] postAttentionNorm = postNorms ? new float[layers][] : null;
        float[][] postFfnNorm = postNorms ? new float[layers][] : null;
        for (int l = 0; l < layers; l++) {
            String p = "blk." + l + ".";
            attentionNorm[l] = vector(g, p + "attn_norm.weight", dim);
            if (g.findTensor(p + "attn_qkv.weight").isPresent()) {
                FloatTensor[] qkv = rowRanges(g, p + "attn_qkv.weight", dim, qDim, kvDim, kvDim);
                wq[l] = qkv[0];
                wk[l] = qkv[1];
                wv[l] = qkv[2];
            } else {
                wq[l] = matrix(g, p + "attn_q.weight", dim, qDim);
                wk[l] = matrix(g, p + "attn_k.weight", dim, kvDim);
                wv[l] = matrix(g, p + "attn_v.weight", dim, kvDim);
            }
            wo[l] = matrix(g, p + "attn_output.weight", qDim, dim);
            if (biases) {
                qBias[l] = vector(g, p + "attn_q.bias", qDim);
                kBias[l] = vector(g, p + "attn_k.bias", kvDim);
                vBias[l] = vector(g, p + "attn_v.bias", kvDim);
            }
            if (headNorms) {
                qNorm[l] = vector(g, p + "attn_q_norm.weight", c.headSize());
                kNorm[l] = vector(g, p + "attn_k_norm.weight", c.headSize());
            }
            ffnNorm[l] = vector(g, p + "ffn_norm.weight", dim);
            if (a == Architecture.PHI3) {
                // ffn_up holds the gate's rows, then the up projection's: llama.cpp's SwiGLU of a split tensor.
                FloatTensor[] gateUp = rowRanges(g, p + "ffn_up.weight", dim, hidden, hidden);
                w1[l] = gateUp[0];
                w3[l] = gateUp[1];
            } else {
                w1[l] = matrix(g, p + "ffn_gate.weight", dim, hidden);
                w3[l] = matrix(g, p + "ffn_up.weight", dim, hidden);
            }
            w2[l] = matrix(g, p + "ffn_down.weight", hidden, dim);
            if (postNorms) {
                postAttentionNorm[l] = vector(g, p + "post_attention_norm.weight", dim);
                postFfnNorm[l] = vector(g, p + "post_ffw_norm.weight", dim);
            }
        }
        float[] finalNorm = vector(g, "output_norm.weight", dim);
        for (String longRope : new String[] {"rope_factors_long.weight", "rope_factors_short.weight"}) {
            if (g.findTensor(longRope).isPresent()) {
                throw new ModelFormatException(g.source(), "tensor " + longRope
                        + ": LongRoPE scaling (Phi-3 128k) is not supported");
            }
        }
        float[] ropeFactors = g.findTensor("rope_freqs.weight").isPresent()
                ? vector(g, "rope_freqs.weight", c.headSize() / 2) : null;
        if (ropeFactors != null) {
            for (int i = 0; i < ropeFactors.length; i++) {
                if (!(ropeFactors[i] > 0) || Float.isInfinite(ropeFactors[i])) {
                    throw new ModelFormatException(g.source(), "tensor rope_freqs.weight has factor "
                            + ropeFactors[i] + " at " + i + "; factors must be positive and finite");
                }
            }
        }
        return new LlamaWeights(embedding, attentionNorm, wq, wk, wv, wo, ffnNorm, w1, w2, w3, finalNorm, classifier,
                qBias, kBias, vBias, qNorm, kNorm, ropeFactors, postAttentionNorm, postFfnNorm);
    }

    /**
     * The consecutive row ranges of a fused matrix of {@code cols} columns, {@code rows[i]} rows each, as
     * matrices of the stored type viewing the file (rows of whole blocks lie one after another).
     */
    private static FloatTensor[] rowRanges(GgufFile g, String name, int cols, int... rows) {
        long total = 0;
        for (int r : rows) {
            total += r;
        }
        GgufTensorInfo info = g.tensor(name);
        long[] s = info.shape();
        if (s.length != 2 || s[0] != cols || s[1] != total) {
            throw new ModelFormatException(g.source(), "tensor " + name + " has shape " + Arrays.toString(s)
                    + ", expected [" + cols + ", " + total + "]");
        }
        if (cols % info.type().blockSize() != 0) {
            throw new ModelFormatException(g.source(), "tensor " + name + ": rows of " + cols + " elements are not"
                    + " whole " + info.type() + " blocks of " + info.type().blockSize());
        }
        MemorySegment data = g.tensorData(info);
        FloatTensor[] parts = new FloatTensor[rows.length];
        long start = 0;
        for (int i = 0; i < rows.length; i++) {
            long elements = (long) rows[i] * cols;
            MemorySegment part = data.asSlice(info.type().bytesFor(start), info.type().bytesFor(elements));
            parts[i] = Tensors.wrap(info.type(), part, elements);
            start += elements;
        }
        return parts;
    }

    /** A matrix of {@code rows} rows of {@code cols} columns; GGUF lists the shape as [cols, rows]. */
    private static FloatTensor matrix(GgufFile g, String name, int cols, int rows) {
        GgufTensorInfo info = g.tensor(name);
        long[] s = info.shape();
        if (s.length != 2 || s[0] != cols || s[1] != rows) {
            throw new ModelFormatException(g.source(), "tensor " + name + " has shape " + Arrays.toString(s)
                    + ", expected [" + cols + ", " + rows + "]");
        }
        return Tensors.wrap(info.type(), g.tensorData(info), info.elementCount());
    }

    private static float[] vector(GgufFile g, String name, int size) {
        GgufTensorInfo info = g.tensor(name);
        if (info.elementCount() != size) {
            throw new ModelFormatException(g.source(), "tensor " + name + " has " + info.elementCount()
                    + " elements, expected " + size);
        }
        float[] out = new float[size];
        Tensors.wrap(info.type(), g.tensorData(info), size).copyTo(0, out, 0, size);
        return out;
    }
}
