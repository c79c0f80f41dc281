package dev.ultrakv.model.synthetic;

import org.junit.jupiter.api.Test;

import java.util.HashSet;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SyntheticVocabularyTest {

    @Test
    void layout_specialsThenBytesThenPieces() {
        SyntheticVocabulary v = SyntheticVocabulary.of(384);
        List<String> tokens = v.tokens();
        assertEquals(384, tokens.size());
        assertEquals(List.of("<unk>", "<s>", "</s>", "<0x00>"), tokens.subList(0, 4));
        assertEquals("<0x0A>", tokens.get(3 + 10));
        assertEquals("<0xFF>", tokens.get(258));
        assertEquals("\u2581", tokens.get(259));
        assertEquals("a", tokens.get(260));
        int[] types = v.tokenTypes();
        assertEquals(2, types[0]);
        assertEquals(3, types[1]);
        assertEquals(3, types[2]);
        for (int i = 3; i < 259; i++) {
            assertEquals(6, types[i]);
        }
        for (int i = 259; i < 384; i++) {
            assertEquals(1, types[i]);
        }
    }

    @Test
    void fullSize_piecesAreDistinctAndScoresDecrease() {
        for (int size : new int[] {259, 260, 384, 512, 32000}) {
            SyntheticVocabulary v = SyntheticVocabulary.of(size);
            assertEquals(size, v.tokens().size());
            assertEquals(size, new HashSet<>(v.tokens()).size(), "distinct at " + size);
            float[] scores = v.scores();
            for (int i = SyntheticVocabulary.MIN_SIZE + 1; i < size; i++) {
                assertTrue(scores[i] < scores[i - 1], "scores decrease at " + i);
            }
        }
        List<String> big = SyntheticVocabulary.of(32000).tokens();
        assertTrue(big.contains("\u2581the"));
        assertTrue(big.contains("\u2581th"), "prefixes are there so that merges reach the word");
        assertTrue(big.contains("ing"));
        assertTrue(big.contains("zzz"));
        assertTrue(big.contains("\u2581qq"));
        for (String piece : big.subList(SyntheticVocabulary.MIN_SIZE, big.size())) {
            assertTrue(!piece.isEmpty() && !piece.startsWith("<"), piece);
        }
    }

    @Test
    void tooSmall_isRejected() {
        assertThrows(IllegalArgumentException.class, () -> SyntheticVocabulary.of(258));
    }
}
