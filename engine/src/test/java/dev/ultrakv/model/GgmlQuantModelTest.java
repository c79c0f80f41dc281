package dev.ultrakv.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ultrakv.kvcache.DenseKvStore;
import dev.ultrakv.kvcache.KvStore;
import dev.ultrakv.sampling.Sampler;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * llama.cpp's quantized test models (ggml-quants/: K-quant mixes and the 32-element types) load and generate
 * llama.cpp's greedy tokens, and decoding a prompt token by token gives its prefill's logits bit for bit whatever
 * types the tensors mix.
 */
class GgmlQuantModelTest {

    private static final String PROMPT = "Once upon a time";
    private static final String GREEDY = "ggml-quants/llama-simple-greedy.tsv";
    /** Greedy tokens in which every file here agrees with llama.cpp (9 to 16 of 16 do). */
    private static final int AGREEING_TOKENS = 9;

    static Stream<String> files() {
        return Stream.of("Q2_K", "Q3_K_M", "Q4_K_M", "Q4_1", "Q5_0", "Q5_1", "Q8_0")
                .map(t -> "kq-d256-l2-s11-" + t + ".gguf");
    }

    /** The model file {@code file} of ggml-quants/. */
    static LlamaModel load(String file) throws URISyntaxException {
        String name = "ggml-quants/" + file;
        return ModelLoader.load(Path.of(Objects.requireNonNull(
                GgmlQuantModelTest.class.getClassLoader().getResource(name), name).toURI()), null);
    }

    @ParameterizedTest
    @MethodSource("files")
    void decodeOfAPromptsTokensEqualsTheirPrefillBitForBit(String file) throws Exception {
        try (LlamaModel model = load(file)) {
            for (int n : new int[] {1, 7, 40}) {
                int[] tokens = new int[n];
                tokens[0] = model.tokenizer().bosId();
                for (int i = 1; i < n; i++) {
                    tokens[i] = 3 + (i * 101) % (model.config().vocabularySize() - 3);
                }
                KvStore batched = new DenseKvStore(model.config().kvLayout(), n);
                ForwardState state = model.newState(n);
                float[] prefill = model.prefill(state, tokens, 0, n, 0, batched).clone();
                KvStore stepwise = new DenseKvStore(model.config().kvLayout(), n);
                ForwardState one = model.newState(1);
                float[] decode = null;
                for (int i = 0; i < n; i++) {
                    decode = model.decode(one, tokens[i], i, stepwise);
                }
                assertArrayEquals(decode, prefill, file + ", prompt of " + n + " tokens");
            }
        }
    }

    /** The weight mix each file declares, named as llama-bench prints it (e.g. "llama ?B Q4_K - Medium"). */
    @Test
    void fileTypeIsTheMixLlamaCppNames() throws Exception {
        Map<String, String> names = Map.of("Q2_K", "Q2_K - Medium", "Q3_K_M", "Q3_K - Medium",
                "Q4_K_M", "Q4_K - Medium", "Q4_1", "Q4_1", "Q5_0", "Q5_0", "Q5_1", "Q5_1", "Q8_0", "Q8_0");
        for (Map.Entry<String, String> e : names.entrySet()) {
            try (LlamaModel model = load("kq-d256-l2-s11-" + e.getKey() + ".gguf")) {
                assertEquals(Optional.of(e.getValue()), model.fileType(), e.getKey());
            }
        }
    }

    /**
     * The first {@link #AGREEING_TOKENS} greedy tokens after the prompt are llama.cpp's (its pieces' bytes are what
     * llama-simple printed). Later ones may part: llama.cpp multiplies quantized weights with activations rounded
     * to 8 bits (Q8_K, Q8_0, Q8_1) where UltraKV keeps floats, and this random model's logits are nearly tied.
     */
    @ParameterizedTest
    @MethodSource("files")
    void greedyTokensFromAPromptAreLlamaCpps(String file) throws Exception {
        byte[] expected = llamaCppGreedyBytes(file);
        try (LlamaModel model = load(file)) {
            int vocab = model.config().vocabularySize();
            int[] prompt = model.tokenizer().encode(PROMPT, true);
            KvStore store = new DenseKvStore(model.config().kvLayout(), prompt.length + AGREEING_TOKENS);
            float[] logits = model.prefill(model.newState(prompt.length), prompt, 0, prompt.length, 0, store);
            ForwardState one = model.newState(1);
            ByteArrayOutputStream text = new ByteArrayOutputStream();
            for (int step = 0; step < AGREEING_TOKENS; step++) {
                int token = Sampler.argmax(logits, 0, vocab);
                text.writeBytes(pieceBytes(model.tokenizer().piece(token)));
                logits = model.decode(one, token, prompt.length + step, store);
            }
            byte[] ours = text.toByteArray();
            assertTrue(ours.length <= expected.length, file + ": " + HexFormat.of().formatHex(ours));
            assertEquals(HexFormat.of().formatHex(expected, 0, ours.length), HexFormat.of().formatHex(ours), file);
        }
    }

    /** A piece as llama.cpp prints it: a byte token as its byte, the SentencePiece space as a space. */
    private static byte[] pieceBytes(String piece) {
        if (piece.matches("<0x[0-9A-F]{2}>")) {
            return new byte[] {(byte) Integer.parseInt(piece.substring(3, 5), 16)};
        }
        return piece.replace('\u2581', ' ').getBytes(StandardCharsets.UTF_8);
    }

    private static byte[] llamaCppGreedyBytes(String file) throws IOException {
        try (InputStream in = Objects.requireNonNull(
                GgmlQuantModelTest.class.getClassLoader().getResourceAsStream(GREEDY), GREEDY)) {
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                String[] fields = line.split("\t");
                if (fields[0].equals(file)) {
                    return HexFormat.of().parseHex(fields[1]);
                }
            }
        }
        throw new AssertionError(file + " is not in " + GREEDY);
    }
}
