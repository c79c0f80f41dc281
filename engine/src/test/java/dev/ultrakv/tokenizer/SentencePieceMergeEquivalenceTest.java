package dev.ultrakv.tokenizer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The O(n log n) merge queue must choose exactly the merges of run.c's quadratic rescan. */
class SentencePieceMergeEquivalenceTest {

    private static final int TEXTS_PER_ALPHABET = 250;
    private static final int MAX_PARTS = 60;
    private static final long SEED = 7L;

    @Test
    void fastMerge_equalsRunCsQuadraticLoop_onRandomTexts() {
        Random random = new Random(SEED);
        int compared = 0;
        for (RandomTexts.Alphabet alphabet : RandomTexts.Alphabet.values()) {
            for (int i = 0; i < TEXTS_PER_ALPHABET; i++) {
                String text = RandomTexts.text(random, alphabet, MAX_PARTS);
                boolean bos = random.nextBoolean();
                assertArrayEquals(Tok512.REFERENCE.encode(text, bos), Tok512.TOKENIZER.encode(text, bos),
                        () -> "text " + SentencePieceTokenizerTest.escape(text));
                compared++;
            }
        }
        assertEquals(3 * TEXTS_PER_ALPHABET, compared);
    }

    @Test
    void fastMerge_equalsRunCsQuadraticLoop_onRepetitiveTexts() {
        // Runs of one character create many equal-score pairs at once: the leftmost must win each time.
        String[] units = {"a", " ", "e", "ab", "the ", "  ", "\n", "ll", "oo", "...", "é", "中"};
        Random random = new Random(SEED + 1);
        for (int i = 0; i < 200; i++) {
            StringBuilder sb = new StringBuilder();
            int length = random.nextInt(40);
            for (int j = 0; j < length; j++) {
                sb.append(units[random.nextInt(units.length)]);
            }
            String text = sb.toString();
            assertArrayEquals(Tok512.REFERENCE.encode(text, true), Tok512.TOKENIZER.encode(text, true),
                    () -> "text " + SentencePieceTokenizerTest.escape(text));
        }
    }

    @Test
    void longText_encodesInLinearithmicTime() {
        // 200k characters: the queue takes well under a second; run.c's rescan would take many minutes.
        StringBuilder sb = new StringBuilder();
        Random random = new Random(SEED + 2);
        while (sb.length() < 200_000) {
            sb.append(RandomTexts.text(random, RandomTexts.Alphabet.UNICODE, 30));
        }
        String text = sb.toString();
        int[] tokens = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> Tok512.TOKENIZER.encode(text, true));
        assertEquals(text, new String(print(tokens), StandardCharsets.UTF_8));
    }

    private static byte[] print(int[] tokens) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 1; i < tokens.length; i++) {
            out.writeBytes(Tok512.TOKENIZER.decodeUnfiltered(tokens[i - 1], tokens[i]));
        }
        return out.toByteArray();
    }
}
