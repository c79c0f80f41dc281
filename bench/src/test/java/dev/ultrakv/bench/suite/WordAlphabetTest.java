package dev.ultrakv.bench.suite;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.HashSet;
import java.util.stream.IntStream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class WordAlphabetTest {
    private static final SuiteModel MODEL = SuiteModel.embedded();
    private static final WordAlphabet ALPHABET = WordAlphabet.of(MODEL.tokenizer());

    @Test
    void singleWordsAreOneTokenEachInAnyText() {
        int[] ids = IntStream.range(0, 200).map(i -> (i * 7919) % 32_000).toArray();
        String text = ALPHABET.hashedText(ids, 1);
        assertEquals(ids.length + 1, MODEL.tokens(text), "BOS and one token per id");
    }

    @Test
    void textsThatShareTheirFirstIdsShareTheirFirstTokens() {
        int[] shorter = {5, 9, 300, 41};
        int[] longer = {5, 9, 300, 41, 77, 2, 999};
        int[] a = MODEL.tokenizer().encode(ALPHABET.numberedText(shorter), true);
        int[] b = MODEL.tokenizer().encode(ALPHABET.numberedText(longer), true);
        assertArrayEquals(a, Arrays.copyOf(b, a.length));
    }

    @Test
    void theNumberingWordsAreDistinctAndNumberTensOfThousandsOfPrompts() {
        assertEquals(ALPHABET.numbering().size(), new HashSet<>(ALPHABET.numbering()).size());
        long symbols = ALPHABET.numbering().size() - 3L;
        assertTrue(symbols * symbols >= 40_000, "numbering words: " + ALPHABET.numbering().size());
    }
}
