package dev.ultrakv.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class Gpt2BpeTokenizerTest {

    private static final String END_OF_TEXT = "<|endoftext|>";
    private static final List<String> MERGES = List.of(
            "Ġ t", "h e", "Ġt he", "l l", "e ll", "h ell", "hell o", "a a", "' s", "1 2");
    private static final long SEED = 5L;
    private static final int RANDOM_TEXTS = 500;
    /** GPT-2's pre-tokenizer regex, as Python's regex module runs it: the reference the split is checked against. */
    private static final Pattern GPT2_REGEX = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

    /** A byte-level vocabulary: the 256 stand-ins (id = byte), the merge products, then END_OF_TEXT. */
    private record Vocab(List<String> tokens, int[] types, int endOfText) {
        static Vocab of(List<String> merges) {
            Map<String, Integer> ids = new LinkedHashMap<>();
            for (int b = 0; b < 256; b++) {
                ids.putIfAbsent(standIn(b), ids.size());
            }
            for (String merge : merges) {
                ids.putIfAbsent(merge.replace(" ", ""), ids.size());
            }
            ids.put(END_OF_TEXT, ids.size());
            int[] types = new int[ids.size()];
            java.util.Arrays.fill(types, TokenType.NORMAL.ggufCode());
            types[ids.size() - 1] = TokenType.CONTROL.ggufCode();
            return new Vocab(new ArrayList<>(ids.keySet()), types, ids.size() - 1);
        }

        Gpt2BpeTokenizer tokenizer(List<String> merges) {
            return Gpt2BpeTokenizer.fromGguf(tokens, merges, types, endOfText, endOfText);
        }

        int id(String piece) {
            return tokens.indexOf(piece);
        }
    }

    private static final Vocab VOCAB = Vocab.of(MERGES);
    private static final Gpt2BpeTokenizer TOK = VOCAB.tokenizer(MERGES);

    /** GPT-2's bytes_to_unicode, written out independently of the class under test. */
    static String standIn(int b) {
        int n = 0;
        for (int x = 0; x < 256; x++) {
            boolean printable = (x >= 0x21 && x <= 0x7E) || (x >= 0xA1 && x <= 0xAC) || (x >= 0xAE && x <= 0xFF);
            if (x == b) {
                return String.valueOf((char) (printable ? x : 256 + n));
            }
            if (!printable) {
                n++;
            }
        }
        throw new IllegalArgumentException();
    }

    private int[] ids(String... pieces) {
        int[] out = new int[pieces.length];
        for (int i = 0; i < pieces.length; i++) {
            out[i] = VOCAB.id(pieces[i]);
            assertTrue(out[i] >= 0, pieces[i]);
        }
        return out;
    }

    @Test
    void spaceStandsAsGdot_andNewlineAsCdot() {
        assertEquals("Ġ", standIn(' '));
        assertEquals("Ċ", standIn('\n'));
        assertArrayEquals(new byte[] {' '}, TOK.decode(0, VOCAB.id("Ġ")));
    }

    @Test
    void lowerRankMergesFirst_evenWhenAFullWordTokenExists() {
        // "h e" (rank 1) beats "l l" (rank 3); then "he"+"ll" has no merge, so "hello" is never reached
        assertArrayEquals(ids("he", "ll", "o"), TOK.encode("hello", false));
        // "Ġ t" (rank 0), "h e" (rank 1), then "Ġt he" (rank 2)
        assertArrayEquals(ids("Ġthe"), TOK.encode(" the", false));
    }

    @Test
    void equalPairs_mergeLeftmostFirst() {
        assertArrayEquals(ids("aa", "a"), TOK.encode("aaa", false));
        assertArrayEquals(ids("aa", "aa"), TOK.encode("aaaa", false));
    }

    @Test
    void pretokenizer_splitsContractionsWordsNumbersAndSpaces() {
        assertArrayEquals(ids("t", "he", "Ġthe"), TOK.encode("the the", false));
        assertArrayEquals(ids("i", "t", "'s"), TOK.encode("it's", false));
        // "a  b" -> "a", " ", " b": the last space of a run goes with the word
        assertArrayEquals(ids("a", "Ġ", "Ġ", "b"), TOK.encode("a  b", false));
        // "x12 3" -> "x", "12", " 3"
        assertArrayEquals(ids("x", "12", "Ġ", "3"), TOK.encode("x12 3", false));
    }

    @Test
    void bos_isPrependedOnRequest_andDecodesToNothing() {
        int[] tokens = TOK.encode("aa", true);
        assertArrayEquals(new int[] {VOCAB.endOfText(), VOCAB.id("aa")}, tokens);
        assertArrayEquals(new byte[0], TOK.decode(0, VOCAB.endOfText()));
    }

    @Test
    void encodeThenDecode_givesBackAnyUnicodeText() {
        Random random = new Random(SEED);
        for (int i = 0; i < RANDOM_TEXTS; i++) {
            String text = i % 2 == 0 ? RandomTexts.text(random, RandomTexts.Alphabet.UNICODE, 30)
                    : randomCodePoints(random, 30);
            assertArrayEquals(text.getBytes(StandardCharsets.UTF_8), print(TOK, TOK.encode(text, true)),
                    () -> SentencePieceTokenizerTest.escape(text));
        }
    }

    @Test
    void fastMerge_equalsGpt2sMergeEveryOccurrenceLoop_onRandomMergeTables() {
        Random random = new Random(SEED + 1);
        for (int table = 0; table < 20; table++) {
            List<String> merges = randomMerges(random, 80);
            Vocab vocab = Vocab.of(merges);
            Gpt2BpeTokenizer tok = vocab.tokenizer(merges);
            Map<String, Integer> ranks = new LinkedHashMap<>();
            for (int r = 0; r < merges.size(); r++) {
                ranks.putIfAbsent(merges.get(r), r);
            }
            for (int i = 0; i < 50; i++) {
                StringBuilder sb = new StringBuilder();
                int length = random.nextInt(40);
                for (int j = 0; j < length; j++) {
                    sb.append("abcd  e".charAt(random.nextInt(7)));
                }
                String text = sb.toString();
                List<Integer> expected = new ArrayList<>();
                Matcher m = GPT2_REGEX.matcher(text);
                while (m.find()) {
                    for (String piece : gpt2Bpe(m.group(), ranks)) {
                        expected.add(vocab.id(piece));
                    }
                }
                assertArrayEquals(expected.stream().mapToInt(Integer::intValue).toArray(), tok.encode(text, false),
                        () -> "table " + merges + " text \"" + text + "\"");
                assertEquals(text, new String(print(tok, tok.encode(text, true)), StandardCharsets.UTF_8));
            }
        }
    }

    /** As llama.cpp: a vocabulary may lack byte tokens; a text that needs one is refused, naming the byte. */
    @Test
    void missingByteToken_isRefusedWhenATextNeedsIt() {
        Gpt2BpeTokenizer tok = Gpt2BpeTokenizer.fromGguf(List.of("a", "b", "ab"), List.of("a b"), new int[] {1, 1, 1},
                0, 1);
        assertArrayEquals(new int[] {2, 0}, tok.encode("aba", false));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> tok.encode("ab c", false));
        assertTrue(e.getMessage().contains("byte 0x20") && e.getMessage().contains("character 2"), e.getMessage());
    }

    /** A vocabulary without the bytes UTF-8 never holds (StarCoder lacks 0xC0): it encodes every text. */
    @Test
    void bytesUtf8NeverHoldsMayBeMissing() {
        List<String> tokens = new ArrayList<>();
        for (int b = 0; b < 256; b++) {
            if (b != 0xC0 && b != 0xC1 && b < 0xF5) {
                tokens.add(standIn(b));
            }
        }
        tokens.add("Ġt");
        int[] types = new int[tokens.size()];
        java.util.Arrays.fill(types, TokenType.NORMAL.ggufCode());
        Gpt2BpeTokenizer tok = Gpt2BpeTokenizer.fromGguf(tokens, List.of("Ġ t"), types, 0, 0);
        String text = "a tü € 😀 \u0000";
        int[] ids = tok.encode(text, false);
        for (int id : ids) {
            assertTrue(id >= 0 && id < tokens.size(), "id " + id);
        }
        assertEquals(text, new String(print(tok, ids), StandardCharsets.UTF_8));
    }

    @Test
    void mergeWithoutASpace_isRejected() {
        TokenizerFormatException e = assertThrows(TokenizerFormatException.class,
                () -> VOCAB.tokenizer(List.of("h e", "ab")));
        assertTrue(e.getMessage().contains("merge 1 \"ab\""), e.getMessage());
    }

    /** GPT-2's encoder.py bpe(): merge every occurrence of the lowest-ranked pair, repeat. */
    private static List<String> gpt2Bpe(String token, Map<String, Integer> ranks) {
        List<String> word = new ArrayList<>();
        for (byte b : token.getBytes(StandardCharsets.UTF_8)) {
            word.add(standIn(b & 0xFF));
        }
        while (word.size() > 1) {
            String best = null;
            int bestRank = Integer.MAX_VALUE;
            for (int i = 0; i + 1 < word.size(); i++) {
                Integer rank = ranks.get(word.get(i) + " " + word.get(i + 1));
                if (rank != null && rank < bestRank) {
                    bestRank = rank;
                    best = word.get(i) + " " + word.get(i + 1);
                }
            }
            if (best == null) {
                break;
            }
            String first = best.substring(0, best.indexOf(' '));
            String second = best.substring(best.indexOf(' ') + 1);
            List<String> merged = new ArrayList<>();
            for (int i = 0; i < word.size(); i++) {
                if (i + 1 < word.size() && word.get(i).equals(first) && word.get(i + 1).equals(second)) {
                    merged.add(first + second);
                    i++;
                } else {
                    merged.add(word.get(i));
                }
            }
            word = merged;
        }
        return word;
    }

    /** A merge table in training order: each merge joins symbols that exist before it. */
    private static List<String> randomMerges(Random random, int count) {
        List<String> symbols = new ArrayList<>(List.of("a", "b", "c", "d", "e", "Ġ"));
        List<String> merges = new ArrayList<>();
        while (merges.size() < count) {
            String left = symbols.get(random.nextInt(symbols.size()));
            String right = symbols.get(random.nextInt(symbols.size()));
            String merge = left + " " + right;
            if (!merges.contains(merge) && !right.startsWith("Ġ") && (left + right).length() < 8) {
                merges.add(merge);
                if (!symbols.contains(left + right)) {
                    symbols.add(left + right);
                }
            }
        }
        return merges;
    }

    private static String randomCodePoints(Random random, int maxLength) {
        StringBuilder sb = new StringBuilder();
        int length = random.nextInt(maxLength);
        for (int i = 0; i < length; i++) {
            sb.appendCodePoint(RandomTexts.anyCodePoint(random));
        }
        return sb.toString();
    }

    static byte[] print(Tokenizer tok, int[] tokens) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 0; i < tokens.length; i++) {
            out.writeBytes(tok.decode(i == 0 ? -1 : tokens[i - 1], tokens[i]));
        }
        return out.toByteArray();
    }
}
