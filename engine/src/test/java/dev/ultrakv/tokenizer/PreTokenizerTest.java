package dev.ultrakv.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

class PreTokenizerTest {

    private static final long SEED = 29L;
    private static final int RANDOM_TEXTS = 300;

    /** One text and the pieces llama.cpp cut it into, for the pre-tokenizers named. */
    private record Case(List<String> types, String text, List<String> pieces) {
    }

    /**
     * Every pre-tokenizer cuts llama.cpp's test texts and mixed random texts (random code points too, some that
     * Unicode 16 assigned after llama.cpp's tables) as llama.cpp's own
     * {@code unicode_regex_split} does (resource pretokenizer/pretokenizer-splits.txt, see its README).
     */
    @Test
    void everyPreTokenizer_cutsAsLlamaCppDoes() throws IOException {
        Set<PreTokenizer> covered = EnumSet.noneOf(PreTokenizer.class);
        int checked = 0;
        for (Case c : llamaCppCases()) {
            for (String type : c.types()) {
                PreTokenizer pre = PreTokenizer.valueOf(type);
                covered.add(pre);
                assertEquals(c.pieces(), pre.split(c.text()), () -> type + " on \"" + escape(c.text()) + "\"");
                checked++;
            }
        }
        assertEquals(EnumSet.allOf(PreTokenizer.class), covered);
        assertTrue(checked > PreTokenizer.values().length * 140, "cases checked: " + checked);
    }

    /** The pieces join to give back any text, and none is empty. */
    @ParameterizedTest
    @EnumSource(PreTokenizer.class)
    void pieces_joinToTheText(PreTokenizer pre) {
        Random random = new Random(SEED);
        for (int i = 0; i < RANDOM_TEXTS; i++) {
            String text = i % 2 == 0 ? RandomTexts.text(random, RandomTexts.Alphabet.UNICODE, 30)
                    : randomCodePoints(random, 30);
            List<String> pieces = pre.split(text);
            assertEquals(text, String.join("", pieces), () -> escape(text));
            assertFalse(pieces.contains(""), () -> escape(text));
        }
    }

    /** With a byte-level vocabulary, decode(encode(text)) gives back any text, whatever the pre-tokenizer. */
    @ParameterizedTest
    @EnumSource(PreTokenizer.class)
    void byteLevelBpe_roundTripsAnyText(PreTokenizer pre) {
        List<String> tokens = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            tokens.add(Gpt2BpeTokenizerTest.standIn(b));
        }
        List<String> merges = List.of("Ġ t", "h e", "Ġt he", "1 2", "' s");
        for (String merge : merges) {
            tokens.add(merge.replace(" ", ""));
        }
        int[] types = new int[tokens.size()];
        Arrays.fill(types, TokenType.NORMAL.ggufCode());
        Gpt2BpeTokenizer tok = Gpt2BpeTokenizer.fromGguf(tokens, merges, types, pre,
                new VocabularySettings(0, 0, false, false, null));
        Random random = new Random(SEED + 1);
        for (int i = 0; i < RANDOM_TEXTS; i++) {
            String text = i % 2 == 0 ? RandomTexts.text(random, RandomTexts.Alphabet.UNICODE, 30)
                    : randomCodePoints(random, 30);
            assertArrayEquals(text.getBytes(StandardCharsets.UTF_8), Gpt2BpeTokenizerTest.print(tok,
                    tok.encode(text, false)), () -> pre + " on \"" + escape(text) + "\"");
        }
    }

    @Test
    void missingName_meansDefault_andUnknownNameIsRefusedListingTheKnown() {
        assertSame(PreTokenizer.DEFAULT, PreTokenizer.forName(null));
        assertSame(PreTokenizer.DEFAULT, PreTokenizer.forName(""));
        assertSame(PreTokenizer.LLAMA3, PreTokenizer.forName("llama-bpe"));
        assertSame(PreTokenizer.QWEN2, PreTokenizer.forName("qwen2"));
        TokenizerFormatException e = assertThrows(TokenizerFormatException.class,
                () -> PreTokenizer.forName("gpt-4o"));
        assertTrue(e.getMessage().contains("tokenizer.ggml.pre = 'gpt-4o'") && e.getMessage().contains("qwen2")
                && e.getMessage().contains("llama-bpe"), e.getMessage());
    }

    private static List<Case> llamaCppCases() throws IOException {
        String data;
        try (InputStream in = PreTokenizerTest.class.getResourceAsStream("/pretokenizer/pretokenizer-splits.txt")) {
            data = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        List<Case> cases = new ArrayList<>();
        List<String> types = List.of();
        String text = null;
        for (String line : data.split("\n")) {
            if (line.startsWith("types ")) {
                types = List.of(line.substring("types ".length()).split(" "));
            } else if (line.startsWith("text ")) {
                text = unescape(line.substring("text ".length()));
            } else if (line.startsWith("split")) {
                String pieces = line.substring("split".length()).strip();
                List<String> split = pieces.isEmpty() ? List.of()
                        : Arrays.stream(pieces.split("\\|", -1)).map(PreTokenizerTest::unescape).toList();
                cases.add(new Case(types, text, split));
            }
        }
        return cases;
    }

    /** Undoes the data file's {@code \\uXXXX} escapes. */
    private static String unescape(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) == '\\' && i + 1 < s.length() && s.charAt(i + 1) == 'u') {
                sb.append((char) Integer.parseInt(s.substring(i + 2, i + 6), 16));
                i += 5;
            } else {
                sb.append(s.charAt(i));
            }
        }
        return sb.toString();
    }

    private static String randomCodePoints(Random random, int max) {
        StringBuilder sb = new StringBuilder();
        int n = random.nextInt(max + 1);
        for (int i = 0; i < n; i++) {
            sb.appendCodePoint(RandomTexts.anyCodePoint(random));
        }
        return sb.toString();
    }

    private static String escape(String text) {
        return SentencePieceTokenizerTest.escape(text);
    }
}
