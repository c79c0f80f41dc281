package dev.ultrakv.model;

import dev.ultrakv.model.gguf.GgufFile;
import dev.ultrakv.model.gguf.GgufTensorInfo;
import dev.ultrakv.tensor.FloatTensor;
import dev.ultrakv.tensor.Tensors;
import dev.ultrakv.tokenizer.Gpt2BpeTokenizer;
import dev.ultrakv.tokenizer.PreTokenizer;
import dev.ultrakv.tokenizer.SentencePieceTokenizer;
import dev.ultrakv.tokenizer.Tokenizer;
import dev.ultrakv.tokenizer.VocabularySettings;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;

/**
 * Builds a {@link LlamaModel} from a GGUF file of the {@code llama} architecture, as llama.cpp names its keys and
 * tensors. Matrices keep their stored type and are read in place; the tokenizer comes from the
 * {@code tokenizer.ggml.*} metadata.
 */
public final class GgufModelLoader {
    /** The only architecture this loader runs. */
    private static final String LLAMA = "llama";

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
        String architecture = gguf.getStringOrDefault("general.architecture", "(none)");
        if (!LLAMA.equals(architecture)) {
            throw new ModelFormatException(source, "unsupported architecture '" + architecture
                    + "' (supported: " + LLAMA + ")");
        }
        try {
            Tokenizer tokenizer = tokenizer(gguf);
            LlamaConfig config = GgufHyperParameters.read(gguf, tokenizer.vocabularySize());
            LlamaWeights weights = weights(gguf, config);
            return new LlamaModel(name, config, weights, tokenizer, gguf,
                    gguf.getStringOrDefault("tokenizer.chat_template", null));
        } catch (ModelFormatException e) {
            throw e;
        } catch (RuntimeException e) {
            throw new ModelFormatException(source, e.getMessage(), e);
        }
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

    private static LlamaWeights weights(GgufFile g, LlamaConfig c) {
        int layers = c.layers();
        FloatTensor embedding = matrix(g, "token_embd.weight", c.dim(), c.vocabularySize());
        Optional<GgufTensorInfo> output = g.findTensor("output.weight");
        FloatTensor classifier = output.isPresent()
                ? matrix(g, "output.weight", c.dim(), c.vocabularySize()) : embedding;
        float[][] attentionNorm = new float[layers][];
        float[][] ffnNorm = new float[layers][];
        FloatTensor[] wq = new FloatTensor[layers];
        FloatTensor[] wk = new FloatTensor[layers];
        FloatTensor[] wv = new FloatTensor[layers];
        FloatTensor[] wo = new FloatTensor[layers];
        FloatTensor[] w1 = new FloatTensor[layers];
        FloatTensor[] w2 = new FloatTensor[layers];
        FloatTensor[] w3 = new FloatTensor[layers];
        for (int l = 0; l < layers; l++) {
            String p = "blk." + l + ".";
            attentionNorm[l] = vector(g, p + "attn_norm.weight", c.dim());
            wq[l] = matrix(g, p + "attn_q.weight", c.dim(), c.dim());
            wk[l] = matrix(g, p + "attn_k.weight", c.dim(), c.kvDim());
            wv[l] = matrix(g, p + "attn_v.weight", c.dim(), c.kvDim());
            wo[l] = matrix(g, p + "attn_output.weight", c.dim(), c.dim());
            ffnNorm[l] = vector(g, p + "ffn_norm.weight", c.dim());
            w1[l] = matrix(g, p + "ffn_gate.weight", c.dim(), c.hiddenDim());
            w2[l] = matrix(g, p + "ffn_down.weight", c.hiddenDim(), c.dim());
            w3[l] = matrix(g, p + "ffn_up.weight", c.dim(), c.hiddenDim());
        }
        float[] finalNorm = vector(g, "output_norm.weight", c.dim());
        return new LlamaWeights(embedding, attentionNorm, wq, wk, wv, wo, ffnNorm, w1, w2, w3, finalNorm, classifier);
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
