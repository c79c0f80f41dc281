package dev.ultrakv.core;

import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.ModelLoader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Incremental decoding with stop strings: a stream never shows one, and the text ends before the first. */
class DetokenizerTest {
    private static LlamaModel model;

    @BeforeAll
    static void load() {
        model = ModelLoader.loadEmbedded();
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** Feeds {@code text}'s tokens and returns what was streamed, the detokenizer left as it ended. */
    private static String feed(Detokenizer d, String text) {
        int[] tokens = model.tokenizer().encode(text, true);
        StringBuilder streamed = new StringBuilder();
        for (int i = 1; i < tokens.length && !d.stopped(); i++) {
            streamed.append(d.append(tokens[i - 1], tokens[i]));
        }
        return streamed.toString();
    }

    @Test
    void withoutStopStringsEveryCompletedCharacterIsReleased() {
        Detokenizer d = new Detokenizer(model.tokenizer(), List.of());
        String text = "Once upon a time, naïve ☕";
        assertEquals(text, feed(d, text));
        assertEquals(text, d.text());
    }

    @Test
    void theTextEndsBeforeTheFirstStopStringAndTheStreamNeverShowsIt() {
        Detokenizer d = new Detokenizer(model.tokenizer(), List.of("little girl", "park"));
        String streamed = feed(d, "Once upon a time there was a little girl who went to the park.");
        assertTrue(d.stopped());
        assertEquals("Once upon a time there was a ", d.text());
        assertEquals(d.text(), streamed);
    }

    @Test
    void textThatMayBecomeAStopStringIsHeldBackThenReleasedWhenItCannot() {
        Detokenizer d = new Detokenizer(model.tokenizer(), List.of("the end."));
        String streamed = feed(d, "She said the end is near");
        assertFalse(d.stopped());
        assertEquals("She said the end is near", d.text());
        assertTrue(d.text().startsWith(streamed), "the stream is a prefix of the text");
        assertFalse(streamed.endsWith("the end"), "the possible beginning of a stop string is held back");
    }

    /** Seeded: for random texts and stops, stream + held back = text, and no stop string occurs in it. */
    @Test
    void streamedPlusHeldBackIsTheTextAndHoldsNoStopString() {
        Random random = new Random(7);
        String[] words = {"a", "the", "cat", "sat", "on", "mat", "and", "then", "it", "ran", ".", ",", "é"};
        for (int trial = 0; trial < 200; trial++) {
            StringBuilder text = new StringBuilder();
            for (int w = 0; w < 3 + random.nextInt(20); w++) {
                text.append(w == 0 ? "" : " ").append(words[random.nextInt(words.length)]);
            }
            String stop = words[random.nextInt(words.length)] + (random.nextBoolean() ? " " : "")
                    + (random.nextBoolean() ? words[random.nextInt(words.length)] : "");
            Detokenizer d = new Detokenizer(model.tokenizer(), List.of(stop));
            String streamed = feed(d, text.toString());
            assertTrue(d.text().startsWith(streamed), text + " / " + stop);
            assertFalse(d.text().contains(stop), text + " / " + stop);
            if (d.stopped()) {
                assertEquals(d.text(), streamed);
                assertTrue(text.toString().startsWith(d.text() + stop), text + " / " + stop);
            } else {
                assertEquals(text.toString(), d.text());
            }
        }
    }
}
