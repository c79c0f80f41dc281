package dev.ultrakv.quality;

import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.ModelLoader;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class QualityTextsTest {
    /** Stories shipped. */
    private static final int STORIES = 12;
    /** The words a TinyStories-style story has, as the resource's header promises. */
    private static final int MIN_WORDS = 150;
    private static final int MAX_WORDS = 400;

    @Test
    void twelveStoriesOfTinyStoriesLength() {
        List<String> stories = QualityTexts.load();
        assertEquals(STORIES, stories.size());
        for (String story : stories) {
            int words = story.split("\\s+").length;
            assertTrue(words >= MIN_WORDS && words <= MAX_WORDS, words + " words: " + story);
            assertTrue(!story.contains("----") && !story.contains("#"), story);
        }
    }

    @Test
    void everyStoryFillsTheEmbeddedModelsContext_beginningWithBos() {
        try (LlamaModel model = ModelLoader.loadEmbedded()) {
            List<int[]> texts = QualityTexts.tokenized(model.tokenizer(), STORIES);
            assertEquals(STORIES, texts.size());
            for (int[] text : texts) {
                assertEquals(model.tokenizer().bosId(), text[0]);
                assertTrue(text.length >= model.config().contextLength(), text.length + " tokens");
            }
            assertThrows(IllegalArgumentException.class, () -> QualityTexts.tokenized(model.tokenizer(), 0));
            assertThrows(IllegalArgumentException.class,
                    () -> QualityTexts.tokenized(model.tokenizer(), STORIES + 1));
        }
    }

    @Test
    void parseJoinsLinesWithSpacesAndParagraphsWithANewline_andDropsComments() {
        String content = """
                # a comment
                ----
                One day a cat
                sat down.

                It slept.
                ----
                # another comment

                Tom ran.
                ----
                """;
        assertEquals(List.of("One day a cat sat down.\nIt slept.", "Tom ran."), QualityTexts.parse(content));
    }
}
