package dev.ultrakv.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SentencePieceTokenizerTest {

    private static final SentencePieceTokenizer TOK = Tok512.TOKENIZER;
    private static final int BOS = 1;
    private static final int EOS = 2;
    private static final int SPACE = 410;      // " "
    private static final int SPACE_A = 261;    // " a"
    private static final int BYTE_OFFSET = 3;  // byte b is token b + 3
    private static final int RANDOM_TEXTS = 600;
    private static final long SEED = 20240601L;

    @Test
    void tok512_loads_512Tokens_bos1_eos2() {
        assertEquals(512, TOK.vocabularySize());
        assertEquals(BOS, TOK.bosId());
        assertEquals(EOS, TOK.eosId());
        assertEquals("<unk>", TOK.piece(0));
        assertEquals("\n<s>\n", TOK.piece(BOS));
        assertEquals("<0x00>", TOK.piece(3));
        assertEquals("<0xFF>", TOK.piece(258));
        assertEquals(" t", TOK.piece(259));
        assertEquals(TokenType.BYTE, TOK.tokenType(3));
        assertEquals(TokenType.CONTROL, TOK.tokenType(EOS));
        assertEquals(TokenType.NORMAL, TOK.tokenType(259));
    }

    @Test
    void tok512_loadsFromPathAndStream_likeFromBytes() throws Exception {
        SentencePieceTokenizer fromPath = SentencePieceTokenizer.fromLlama2c(Path.of("../models/tok512.bin"), 512);
        SentencePieceTokenizer fromStream;
        try (InputStream in = getClass().getResourceAsStream(Tok512.RESOURCE)) {
            fromStream = SentencePieceTokenizer.fromLlama2c(in, 512, Tok512.RESOURCE);
        }
        String text = "Once upon a time, Lily saw a big dog.";
        assertArrayEquals(TOK.encode(text, true), fromPath.encode(text, true));
        assertArrayEquals(TOK.encode(text, true), fromStream.encode(text, true));
    }

    @Test
    void emptyText_isBosAlone_orNothing() {
        assertArrayEquals(new int[] {BOS}, TOK.encode("", true));
        assertArrayEquals(new int[0], TOK.encode("", false));
    }

    @Test
    void word_mergesWithTheDummyPrefixSpace() {
        // " "+"a" -> " a"
        assertArrayEquals(new int[] {BOS, SPACE_A}, TOK.encode("a", true));
        assertArrayEquals(new int[] {SPACE_A}, TOK.encode("a", false));
        // " t"(-0) first, then "he"(-1), then " t"+"he" -> " the"(265)
        assertArrayEquals(new int[] {BOS, 265}, TOK.encode("the", true));
        // " Once", " upon", " a", " time"
        assertArrayEquals(new int[] {BOS, 403, 407, SPACE_A, 378}, TOK.encode("Once upon a time", true));
    }

    @Test
    void characterWithAPiece_isThatPiece() {
        // "é" is piece 485 and " é" is not a piece, so the dummy prefix stays alone
        assertArrayEquals(new int[] {BOS, SPACE, 485}, TOK.encode("é", true));
        assertArrayEquals(new int[] {BOS, SPACE, SPACE, 485}, TOK.encode(" é", true));
    }

    @Test
    void characterWithoutAPiece_fallsBackToItsBytesPlusThree() {
        // 中 = E4 B8 AD
        assertArrayEquals(new int[] {BOS, SPACE, 0xE4 + BYTE_OFFSET, 0xB8 + BYTE_OFFSET, 0xAD + BYTE_OFFSET},
                TOK.encode("中", true));
        // tok512 has no "\n" piece
        assertArrayEquals(new int[] {BOS, SPACE, '\n' + BYTE_OFFSET}, TOK.encode("\n", true));
    }

    @Test
    void emoji_fallsBackToItsFourBytes() {
        // 😀 = F0 9F 98 80
        assertArrayEquals(new int[] {BOS, SPACE, 0xF0 + BYTE_OFFSET, 0x9F + BYTE_OFFSET, 0x98 + BYTE_OFFSET,
                0x80 + BYTE_OFFSET}, TOK.encode("😀", true));
    }

    @Test
    void decode_dropsTheLeadingSpaceOnlyAfterBos() {
        assertArrayEquals(bytes("a"), TOK.decode(BOS, SPACE_A));
        assertArrayEquals(bytes(" a"), TOK.decode(SPACE, SPACE_A));
        assertArrayEquals(new byte[0], TOK.decode(BOS, SPACE));
    }

    @Test
    void decode_byteTokenIsItsRawByte() {
        assertArrayEquals(new byte[] {'\n'}, TOK.decode(SPACE, '\n' + BYTE_OFFSET));
        assertArrayEquals(new byte[] {'A'}, TOK.decode(SPACE, 'A' + BYTE_OFFSET));
        assertArrayEquals(new byte[] {' '}, TOK.decode(BOS, ' ' + BYTE_OFFSET));
    }

    @Test
    void decode_dropsLoneBytesThatRunCsSafePrintfRejects() {
        assertArrayEquals(new byte[0], TOK.decode(SPACE, 0x01 + BYTE_OFFSET));
        assertArrayEquals(new byte[0], TOK.decode(SPACE, 0x00 + BYTE_OFFSET));
        assertArrayEquals(new byte[0], TOK.decode(SPACE, 0x7F + BYTE_OFFSET));
        // C's isprint is false for 0x80..0xFF, so run.c prints no byte-fallback UTF-8 at all
        assertArrayEquals(new byte[0], TOK.decode(SPACE, 0xE4 + BYTE_OFFSET));
        assertArrayEquals(new byte[] {(byte) 0xE4}, TOK.decodeUnfiltered(SPACE, 0xE4 + BYTE_OFFSET));
        assertArrayEquals(new byte[] {0x01}, TOK.decodeUnfiltered(SPACE, 0x01 + BYTE_OFFSET));
        assertArrayEquals(new byte[0], print(TOK.encode("\u0001中", true)));
    }

    @Test
    void decode_bosAndEos_printNothing() {
        assertArrayEquals(new byte[0], TOK.decode(SPACE, BOS));
        assertArrayEquals(new byte[0], TOK.decode(SPACE, EOS));
        assertArrayEquals(new byte[0], TOK.decodeUnfiltered(SPACE, EOS));
    }

    @Test
    void decode_everyTokenAfterEveryKindOfPredecessor_printsWhatRunCPrints() {
        for (int prev : new int[] {0, BOS, SPACE, SPACE_A, 3}) {
            for (int token = 0; token < TOK.vocabularySize(); token++) {
                if (token == BOS || token == EOS) {
                    continue; // run.c prints EOS's "\n</s>\n" and stops at BOS; we print neither
                }
                assertArrayEquals(Tok512.REFERENCE.decodeAndPrint(prev, token), TOK.decode(prev, token),
                        "prev " + prev + " token " + token);
            }
        }
    }

    @Test
    void encodeThenDecode_givesBackTheText_whenRunCPrintsEveryCharacter() {
        Random random = new Random(SEED);
        for (int i = 0; i < RANDOM_TEXTS; i++) {
            RandomTexts.Alphabet alphabet = i % 2 == 0
                    ? RandomTexts.Alphabet.ASCII : RandomTexts.Alphabet.PRINTABLE_BY_RUN_C;
            String text = RandomTexts.text(random, alphabet, 40);
            assertArrayEquals(bytes(text), print(TOK.encode(text, true)), () -> "text " + escape(text));
        }
    }

    @Test
    void encodeThenDecodeUnfiltered_givesBackAnyText() {
        Random random = new Random(SEED + 1);
        for (int i = 0; i < RANDOM_TEXTS; i++) {
            String text = RandomTexts.text(random, RandomTexts.Alphabet.UNICODE, 40);
            assertArrayEquals(bytes(text), printUnfiltered(TOK.encode(text, true)), () -> "text " + escape(text));
        }
        for (int i = 0; i < RANDOM_TEXTS; i++) {
            StringBuilder sb = new StringBuilder();
            int length = random.nextInt(30);
            for (int j = 0; j < length; j++) {
                sb.appendCodePoint(RandomTexts.anyCodePoint(random));
            }
            String text = sb.toString();
            assertArrayEquals(bytes(text), printUnfiltered(TOK.encode(text, true)), () -> "text " + escape(text));
        }
    }

    @Test
    void equalScores_negativeZeroTiesWithZero_soTheLeftmostPairMerges() {
        // "ab" scores -0.0 and "bc" scores 0.0: run.c's "score > best" sees a tie and keeps the leftmost, "ab"
        SentencePieceTokenizer tok = tiny(new String[] {"a", "b", "c", "ab", "bc"},
                new float[] {-1, -1, -1, -0.0f, 0.0f});
        int a = 260;
        int ab = 263;
        int c = 262;
        assertArrayEquals(new int[] {TinyVocab.SPACE_ID, ab, c}, tok.encode("abc", false));
        assertEquals(a, tok.encode("a", false)[1]);
    }

    @Test
    void pieceScoringAtOrBelowRunCsFloor_neverMerges() {
        float floor = SentencePieceTokenizer.MIN_MERGE_SCORE;
        SentencePieceTokenizer tok = tiny(new String[] {"a", "b", "c", "ab", "bc"},
                new float[] {-1, -1, -1, floor, Math.nextUp(floor)});
        assertArrayEquals(new int[] {TinyVocab.SPACE_ID, 260, 264}, tok.encode("abc", false));
        assertArrayEquals(new int[] {TinyVocab.SPACE_ID, 260, 261}, tok.encode("ab", false));
    }

    @Test
    void longText_encodesLikeRunC() {
        Random random = new Random(SEED + 2);
        StringBuilder sb = new StringBuilder();
        while (sb.length() < 3000) {
            sb.append(RandomTexts.text(random, RandomTexts.Alphabet.UNICODE, 20));
        }
        String text = sb.toString();
        assertArrayEquals(Tok512.REFERENCE.encode(text, true), TOK.encode(text, true));
    }

    /** A llama2.c vocabulary: the 259 fixed tokens, then " " (id 259), then {@code pieces} from id 260. */
    private static SentencePieceTokenizer tiny(String[] pieces, float[] scores) {
        return SentencePieceTokenizer.fromLlama2c(TinyVocab.bin(pieces, scores), TinyVocab.size(pieces), "tiny");
    }

    private static byte[] print(int[] tokens) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 1; i < tokens.length; i++) {
            out.writeBytes(TOK.decode(tokens[i - 1], tokens[i]));
        }
        return out.toByteArray();
    }

    private static byte[] printUnfiltered(int[] tokens) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 1; i < tokens.length; i++) {
            out.writeBytes(TOK.decodeUnfiltered(tokens[i - 1], tokens[i]));
        }
        return out.toByteArray();
    }

    static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    static String escape(String s) {
        StringBuilder sb = new StringBuilder("\"");
        s.codePoints().forEach(cp -> {
            if (cp < 0x20 || cp > 0x7E) {
                sb.append(String.format("\\u{%X}", cp));
            } else {
                sb.appendCodePoint(cp);
            }
        });
        return sb.append('"').toString();
    }

    /** Writes small llama2.c tokenizer.bin images. */
    static final class TinyVocab {
        static final int SPACE_ID = 259;
        private static final int FIXED = 259;

        private TinyVocab() {
        }

        static int size(String[] pieces) {
            return FIXED + 1 + pieces.length;
        }

        static byte[] bin(String[] pieces, float[] scores) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            out.writeBytes(le(8));
            entry(out, 0, "<unk>");
            entry(out, 0, "\n<s>\n");
            entry(out, 0, "\n</s>\n");
            for (int b = 0; b < 256; b++) {
                entry(out, 0, String.format("<0x%02X>", b));
            }
            entry(out, -1, " ");
            for (int i = 0; i < pieces.length; i++) {
                entry(out, scores[i], pieces[i]);
            }
            return out.toByteArray();
        }

        private static void entry(ByteArrayOutputStream out, float score, String piece) {
            byte[] bytes = piece.getBytes(StandardCharsets.UTF_8);
            out.writeBytes(le(Float.floatToRawIntBits(score)));
            out.writeBytes(le(bytes.length));
            out.writeBytes(bytes);
        }

        static byte[] le(int value) {
            return ByteBuffer.allocate(Integer.BYTES).order(ByteOrder.LITTLE_ENDIAN).putInt(value).array();
        }
    }
}
