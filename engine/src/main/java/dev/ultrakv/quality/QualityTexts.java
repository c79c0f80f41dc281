package dev.ultrakv.quality;

import dev.ultrakv.tokenizer.Tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * The texts the quality harness runs: short children's stories in the style of TinyStories, written for this
 * project and shipped as the resource {@value #RESOURCE} beside this class.
 *
 * <h2>Notes</h2>
 * <b>Why children's stories.</b> The embedded stories260K model was trained on TinyStories; on text of that kind
 * it predicts well (a perplexity of a few), so a damaged KV cache shows as a clear rise in divergence and
 * perplexity rather than drowning in the noise of text the model never learned. Each story is long enough to
 * fill the model's 512-token context, so every length up to the context cuts the same stories.
 *
 * <p><b>Format.</b> Lines starting with {@code #} are comments; a line holding only {@code ----} separates
 * stories; within a story, the lines of a paragraph are joined with spaces and paragraphs with one newline, the
 * way the model's own generations lay out paragraphs.
 */
public final class QualityTexts {
    /** The stories' classpath resource, relative to this class. */
    public static final String RESOURCE = "stories.txt";
    /** A line holding only this separates two stories. */
    private static final String SEPARATOR = "----";
    /** Lines starting with this are comments. */
    private static final String COMMENT = "#";

    private QualityTexts() {
    }

    /** The shipped stories, in file order. */
    public static List<String> load() {
        try (InputStream in = QualityTexts.class.getResourceAsStream(RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("the resource " + RESOURCE + " is missing from the classpath");
            }
            return parse(new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new UncheckedIOException("reading " + RESOURCE, e);
        }
    }

    /** The first {@code count} stories, each encoded by {@code tokenizer} with BOS first. */
    public static List<int[]> tokenized(Tokenizer tokenizer, int count) {
        List<String> stories = load();
        if (count <= 0 || count > stories.size()) {
            throw new IllegalArgumentException("texts must be in 1.." + stories.size() + ": " + count);
        }
        List<int[]> texts = new ArrayList<>(count);
        for (String story : stories.subList(0, count)) {
            texts.add(tokenizer.encode(story, true));
        }
        return texts;
    }

    /** The stories of {@code content} in the format described in the class notes; empty stories are dropped. */
    static List<String> parse(String content) {
        List<String> stories = new ArrayList<>();
        StringBuilder story = new StringBuilder();
        boolean paragraphEnded = false;
        for (String line : content.split("\r?\n", -1)) {
            String trimmed = line.strip();
            if (trimmed.startsWith(COMMENT)) {
                continue;
            }
            if (trimmed.equals(SEPARATOR)) {
                addIfNotEmpty(stories, story);
                story.setLength(0);
                paragraphEnded = false;
            } else if (trimmed.isEmpty()) {
                paragraphEnded = !story.isEmpty();
            } else {
                if (!story.isEmpty()) {
                    story.append(paragraphEnded ? '\n' : ' ');
                }
                story.append(trimmed);
                paragraphEnded = false;
            }
        }
        addIfNotEmpty(stories, story);
        return List.copyOf(stories);
    }

    private static void addIfNotEmpty(List<String> stories, StringBuilder story) {
        if (!story.isEmpty()) {
            stories.add(story.toString());
        }
    }
}
