package dev.ultrakv.cli;

import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.ModelLoader;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.zip.GZIPInputStream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TokenizeCommandTest {

    @Test
    void printsTheIdsAndPiecesOfTheEmbeddedTokenizer() {
        int[] expected;
        try (LlamaModel model = ModelLoader.loadEmbedded()) {
            expected = model.tokenizer().encode("Once upon a time", true);
        }
        CliRun ids = CliRun.of("tokenize", "--text", "Once upon a time", "--ids");
        assertEquals(0, ids.exitCode(), ids.err());
        assertEquals(Arrays.stream(expected).mapToObj(Integer::toString).collect(Collectors.joining(", ", "[", "]")),
                ids.out().strip());

        CliRun pieces = CliRun.of("tokenize", "--text", "Once upon a time");
        assertEquals(0, pieces.exitCode(), pieces.err());
        List<String> lines = pieces.out().lines().toList();
        assertEquals(expected.length, lines.size(), pieces.out());
        // BOS prints nothing, so its vocabulary entry is shown (tok512's is "\n<s>\n"), escaped onto its line.
        assertEquals(String.format("%6d -> '\\n<s>\\n'", expected[0]), lines.get(0));
        // The pieces, joined, give back the text (SentencePiece's dummy prefix space dropped after BOS).
        String joined = lines.stream().skip(1).map(l -> l.substring(l.indexOf("'") + 1, l.length() - 1))
                .collect(Collectors.joining());
        assertEquals("Once upon a time", joined);

        CliRun noBos = CliRun.of("tokenize", "--text", "Once upon a time", "--ids", "--no-bos");
        assertEquals(Arrays.stream(expected).skip(1).mapToObj(Integer::toString)
                .collect(Collectors.joining(", ", "[", "]")), noBos.out().strip());
    }

    /**
     * llama.cpp's own tokenizer test vectors, through --file, encoded as its test-tokenizer-0 does
     * ({@code add_special = false, parse_special = false}: --no-bos --no-parse-special): the Llama 1/2 and Phi-3
     * SentencePiece vocabularies, and the byte-level BPE of GPT-2, StarCoder and DeepSeek LLM (their own
     * pre-tokenizers; DeepSeek's user-defined tokens are found even without special-token parsing).
     */
    @ParameterizedTest
    @ValueSource(strings = {"llama-spm", "phi-3", "gpt-2", "starcoder", "deepseek-llm"})
    void vocabularyOnlyGgufGivesLlamaCppsIds(String name, @TempDir Path dir) throws Exception {
        String file = "vocab/ggml-vocab-" + name + ".gguf";
        Path vocab = vocabulary(name, dir);
        List<String> texts = testTexts(read(file + ".inp"));
        List<String> expected = read(file + ".out").lines().toList();
        assertEquals(expected.size(), texts.size());
        for (int i = 0; i < texts.size(); i++) {
            Path text = dir.resolve("text" + i + ".txt");
            Files.writeString(text, texts.get(i), StandardCharsets.UTF_8);
            CliRun run = CliRun.of("tokenize", "--model", vocab.toString(), "--file", text.toString(), "--ids",
                    "--no-bos", "--no-parse-special");
            assertEquals(0, run.exitCode(), run.err());
            String ids = run.out().strip();
            String want = expected.get(i).isBlank() ? "[]"
                    : "[" + String.join(", ", expected.get(i).strip().split(" ")) + "]";
            assertEquals(want, ids, "text " + i + ": '" + texts.get(i) + "'");
        }
    }

    /** A text with special tokens of several vocabularies, spaces and a newline next to them, and DeepSeek's "ö". */
    private static final String SPECIAL_TEXT = "<s>Hi<|user|>\n hello</s> world<|endoftext|>x <fim_prefix>def"
            + "<\uFF5Cend\u2581of\u2581sentence\uFF5C>\u00F6";

    /**
     * The ids llama.cpp's llama-tokenize gives {@link #SPECIAL_TEXT} with special-token parsing on (its default) and
     * off, BOS as the model asks: recorded with
     * {@code llama-tokenize -m ggml-vocab-NAME.gguf -p "$TEXT" --ids --log-disable [--no-parse-special]}
     * (llama.cpp c392e5094). They show the cases that matter: control tokens found only when parsing (phi-3's
     * {@code <|user|>}, StarCoder's {@code <fim_prefix>}), user-defined ones always (phi-3's {@code </s>},
     * DeepSeek's "ö"), phi-3's tokens eating the whitespace on their right, and SentencePiece's leading space
     * after each special token (llama-spm's {@code </s> world} gives "▁", "▁world").
     */
    @ParameterizedTest
    @CsvSource(delimiter = ';', value = {
        "llama-spm; 1, 1, 6324, 29966, 29989, 1792, 29989, 29958, 13, 22172, 2, 29871, 3186, 29966, 29989, 355, 974,"
                + " 726, 29989, 29958, 29916, 529, 29888, 326, 29918, 13506, 29958, 1753, 29966, 242, 192, 159, 355,"
                + " 310, 10541, 242, 192, 159, 29958, 29997;"
                + " 1, 529, 29879, 29958, 18567, 29966, 29989, 1792, 29989, 29958, 13, 22172, 829, 29879, 29958, 3186,"
                + " 29966, 29989, 355, 974, 726, 29989, 29958, 29916, 529, 29888, 326, 29918, 13506, 29958, 1753,"
                + " 29966, 242, 192, 159, 355, 310, 10541, 242, 192, 159, 29958, 29997",
        "phi-3; 1, 1, 6324, 32010, 22172, 2, 3186, 32000, 921, 529, 29888, 326, 29918, 13506, 29958, 1753, 29966,"
                + " 242, 192, 159, 355, 310, 10541, 242, 192, 159, 29958, 29997;"
                + " 1, 529, 29879, 29958, 18567, 29966, 29989, 1792, 29989, 29958, 13, 22172, 2, 3186, 29966, 29989,"
                + " 355, 974, 726, 29989, 29958, 29916, 529, 29888, 326, 29918, 13506, 29958, 1753, 29966, 242, 192,"
                + " 159, 355, 310, 10541, 242, 192, 159, 29958, 29997",
        "gpt-2; 27, 82, 29, 17250, 27, 91, 7220, 91, 29, 198, 23748, 3556, 82, 29, 995, 50256, 87, 1279, 69, 320,"
                + " 62, 40290, 29, 4299, 27, 171, 121, 250, 437, 5008, 223, 1659, 5008, 223, 34086, 594, 171, 121,"
                + " 250, 29, 9101;"
                + " 27, 82, 29, 17250, 27, 91, 7220, 91, 29, 198, 23748, 3556, 82, 29, 995, 27, 91, 437, 1659, 5239,"
                + " 91, 29, 87, 1279, 69, 320, 62, 40290, 29, 4299, 27, 171, 121, 250, 437, 5008, 223, 1659, 5008,"
                + " 223, 34086, 594, 171, 121, 250, 29, 9101",
        "starcoder; 65, 120, 67, 12589, 65, 129, 514, 28339, 222, 17966, 396, 120, 67, 5810, 0, 125, 244, 1, 610,"
                + " 65, 23865, 274, 435, 4620, 247, 1048, 4620, 247, 18318, 23865, 274, 67, 2827;"
                + " 65, 120, 67, 12589, 65, 129, 514, 28339, 222, 17966, 396, 120, 67, 5810, 65, 129, 15546, 31124,"
                + " 28339, 125, 350, 107, 468, 100, 4271, 67, 610, 65, 23865, 274, 435, 4620, 247, 1048, 4620, 247,"
                + " 18318, 23865, 274, 67, 2827",
        "deepseek-llm; 100000, 27, 82, 29, 11007, 27, 91, 3631, 66325, 185, 39280, 535, 82, 29, 1843, 27, 91, 409,"
                + " 994, 822, 66325, 87, 459, 69, 309, 62, 18338, 29, 1558, 100001, 100003;"
                + " 100000, 27, 82, 29, 11007, 27, 91, 3631, 66325, 185, 39280, 535, 82, 29, 1843, 27, 91, 409, 994,"
                + " 822, 66325, 87, 459, 69, 309, 62, 18338, 29, 1558, 27, 68940, 237, 409, 11009, 210, 994, 11009,"
                + " 210, 53582, 68940, 237, 29, 100003",
    })
    void specialTokens_asLlamaTokenizeFindsThem(String name, String parsed, String unparsed, @TempDir Path dir)
            throws Exception {
        Path vocab = vocabulary(name, dir);
        CliRun on = CliRun.of("tokenize", "--model", vocab.toString(), "--text", SPECIAL_TEXT, "--ids");
        assertEquals(0, on.exitCode(), on.err());
        assertEquals("[" + parsed.strip() + "]", on.out().strip());
        CliRun off = CliRun.of("tokenize", "--model", vocab.toString(), "--text", SPECIAL_TEXT, "--ids",
                "--no-parse-special");
        assertEquals(0, off.exitCode(), off.err());
        assertEquals("[" + unparsed.strip() + "]", off.out().strip());
    }

    @Test
    void controlCharactersAreEscaped() {
        assertEquals("a\\nb\\tc\\r\\u0001é", TokenizeCommand.escapeControls("a\nb\tc\r\u0001é"));
    }

    @Test
    void badInputIsRefusedByName(@TempDir Path dir) throws IOException {
        CliRun both = CliRun.of("tokenize", "--text", "a", "--file", "b.txt");
        assertEquals(2, both.exitCode());
        assertTrue(both.err().contains("mutually exclusive"), both.err());

        CliRun neither = CliRun.of("tokenize");
        assertEquals(2, neither.exitCode());
        assertTrue(neither.err().contains("--text") && neither.err().contains("--file"), neither.err());

        Path missing = dir.resolve("missing.txt");
        CliRun noFile = CliRun.of("tokenize", "--file", missing.toString());
        assertEquals(1, noFile.exitCode());
        assertTrue(noFile.err().contains(missing.toString()) && noFile.err().contains("no such file"), noFile.err());

        Path latin1 = dir.resolve("latin1.txt");
        Files.write(latin1, new byte[] {'c', 'a', 'f', (byte) 0xE9});
        CliRun notUtf8 = CliRun.of("tokenize", "--file", latin1.toString());
        assertEquals(1, notUtf8.exitCode());
        assertTrue(notUtf8.err().contains("not valid UTF-8"), notUtf8.err());

        Path notGguf = dir.resolve("vocab.gguf");
        Files.writeString(notGguf, "GGUF but not really");
        CliRun broken = CliRun.of("tokenize", "--model", notGguf.toString(), "--text", "a");
        assertEquals(1, broken.exitCode());
        assertTrue(broken.err().contains(notGguf.toString()), broken.err());
    }

    /** The texts of a llama.cpp {@code .inp} file: each ends with a newline and a line holding only the marker. */
    private static List<String> testTexts(String inp) {
        List<String> texts = new ArrayList<>(Arrays.asList(inp.split("\n__ggml_vocab_test__\n", -1)));
        if (texts.getLast().isEmpty()) {
            texts.removeLast();
        }
        return texts;
    }

    /**
     * The vocabulary file {@code ggml-vocab-NAME.gguf}: as copied, or unpacked into {@code dir} from its
     * {@code .gguf.gz} (the larger ones are stored compressed to keep the repository small).
     */
    static Path vocabulary(String name, Path dir) throws IOException, URISyntaxException {
        String file = "vocab/ggml-vocab-" + name + ".gguf";
        if (TokenizeCommandTest.class.getClassLoader().getResource(file) != null) {
            return resource(file);
        }
        Path unpacked = dir.resolve("ggml-vocab-" + name + ".gguf");
        try (InputStream in = new GZIPInputStream(
                TokenizeCommandTest.class.getClassLoader().getResourceAsStream(file + ".gz"))) {
            Files.copy(in, unpacked);
        }
        return unpacked;
    }

    private static Path resource(String name) throws URISyntaxException {
        return Path.of(TokenizeCommandTest.class.getClassLoader().getResource(name).toURI());
    }

    private static String read(String name) throws IOException {
        try (InputStream in = TokenizeCommandTest.class.getClassLoader().getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
