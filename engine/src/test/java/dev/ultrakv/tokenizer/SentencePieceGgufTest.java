package dev.ultrakv.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.stream.IntStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * stories260K.gguf (written by llama.cpp's llama2.c converter) carries tok512 as GGUF arrays: pieces spell the space
 * "▁", BOS and EOS are {@code <s>} and {@code </s>}, byte tokens have type 6. Built from it, the tokenizer must
 * behave exactly like the one built from tok512.bin.
 */
class SentencePieceGgufTest {

    private static final Path GGUF = Path.of("../models/stories260K.gguf");
    private static final int TEXTS_PER_ALPHABET = 300;
    private static final long SEED = 99L;

    private static Map<String, Object> metadata;
    private static SentencePieceTokenizer gguf;

    @BeforeAll
    static void load() throws IOException {
        metadata = GgufTestMetadata.read(GGUF);
        gguf = fromMetadata(metadata);
    }

    @SuppressWarnings("unchecked")
    private static SentencePieceTokenizer fromMetadata(Map<String, Object> kv) {
        List<String> tokens = (List<String>) kv.get("tokenizer.ggml.tokens");
        List<Float> scoreList = (List<Float>) kv.get("tokenizer.ggml.scores");
        List<Integer> typeList = (List<Integer>) kv.get("tokenizer.ggml.token_type");
        float[] scores = new float[scoreList.size()];
        for (int i = 0; i < scores.length; i++) {
            scores[i] = scoreList.get(i);
        }
        int[] types = typeList.stream().mapToInt(Integer::intValue).toArray();
        return SentencePieceTokenizer.fromGguf(tokens, scores, types, (Integer) kv.get("tokenizer.ggml.bos_token_id"),
                (Integer) kv.get("tokenizer.ggml.eos_token_id"), (Integer) kv.get("tokenizer.ggml.unknown_token_id"));
    }

    @Test
    void ggufStoresTok512_withSpmSpaces_andSpecialTokensWithoutNewlines() {
        assertEquals("llama", metadata.get("tokenizer.ggml.model"));
        assertEquals(512, gguf.vocabularySize());
        assertEquals(1, gguf.bosId());
        assertEquals(2, gguf.eosId());
        assertEquals("<s>", gguf.piece(1));
        assertEquals("▁t", gguf.piece(259));
        assertEquals("▁", gguf.piece(410));
        assertEquals(TokenType.UNKNOWN, gguf.tokenType(0));
        assertEquals(TokenType.CONTROL, gguf.tokenType(1));
        assertEquals(TokenType.BYTE, gguf.tokenType(3));
        assertEquals(TokenType.NORMAL, gguf.tokenType(259));
    }

    @Test
    void ggufPiecesAndScores_matchTok512_onceTheSpmSpaceIsASpace() {
        SentencePieceTokenizer bin = Tok512.TOKENIZER;
        for (int id = 3; id < bin.vocabularySize(); id++) {
            assertEquals(bin.piece(id), gguf.piece(id).replace('▁', ' '), "token " + id);
            assertEquals(Float.floatToRawIntBits(bin.score(id)), Float.floatToRawIntBits(gguf.score(id)));
        }
    }

    /** Every text, with a literal "▁" read as the space it stands for in GGUF (llama.cpp's reading). */
    @Test
    void ggufTokenizer_encodesEveryTextLikeTok512() {
        Random random = new Random(SEED);
        for (RandomTexts.Alphabet alphabet : RandomTexts.Alphabet.values()) {
            for (int i = 0; i < TEXTS_PER_ALPHABET; i++) {
                String text = RandomTexts.text(random, alphabet, 50);
                boolean bos = random.nextBoolean();
                assertArrayEquals(Tok512.TOKENIZER.encode(text.replace('▁', ' '), bos), gguf.encode(text, bos),
                        () -> "text " + SentencePieceTokenizerTest.escape(text));
            }
        }
        for (String text : new String[] {"", " ", "▁", "a▁b", "<s>", "</s>", "<unk>", "<0x41>", "\n<s>\n"}) {
            assertArrayEquals(Tok512.TOKENIZER.encode(text.replace('▁', ' '), true), gguf.encode(text, true), text);
        }
    }

    @Test
    void ggufTokenizer_decodesEveryTokenLikeTok512() {
        SentencePieceTokenizer bin = Tok512.TOKENIZER;
        int[] predecessors = IntStream.concat(IntStream.of(0, 1, 2), IntStream.range(3, 512).filter(i -> i % 7 == 0))
                .toArray();
        for (int prev : predecessors) {
            for (int token = 0; token < bin.vocabularySize(); token++) {
                assertArrayEquals(bin.decode(prev, token), gguf.decode(prev, token), prev + " " + token);
                assertArrayEquals(bin.decodeUnfiltered(prev, token), gguf.decodeUnfiltered(prev, token));
            }
        }
    }

    @Test
    void ggufByteTokenWithAnotherSpelling_isRejected() {
        List<String> tokens = List.of("<unk>", "<s>", "</s>", "▁", "<0xZZ>");
        TokenizerFormatException e = assertThrows(TokenizerFormatException.class,
                () -> SentencePieceTokenizer.fromGguf(tokens, new float[5], new int[] {2, 3, 3, 1, 6}, 1, 2, 0));
        assertTrue(e.getMessage().contains("<0xZZ>"), e.getMessage());
    }

    @Test
    void ggufArraysOfDifferentLengths_areRejected() {
        TokenizerFormatException e = assertThrows(TokenizerFormatException.class,
                () -> SentencePieceTokenizer.fromGguf(List.of("<unk>", "▁"), new float[3], new int[2], 0, 0, 0));
        assertTrue(e.getMessage().contains("2 tokens but 3 scores"), e.getMessage());
    }
}
