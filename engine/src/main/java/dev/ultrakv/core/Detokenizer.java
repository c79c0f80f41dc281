package dev.ultrakv.core;

import dev.ultrakv.tokenizer.Tokenizer;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * One request's text as its tokens come: each token's raw bytes decoded incrementally as UTF-8 (a character
 * split over byte tokens comes out whole), and its stop strings looked for in the text so far.
 *
 * <p>What a token releases to a stream is the text that can no longer change: without stop strings, all that
 * it completes; with them, all but the longest end of the text that could still grow into a stop string
 * (vLLM holds text back the same way), so a stream never shows a stop string. When one appears the text ends
 * before it. The text held back when generation ends otherwise is in the final text only.
 *
 * <p>Not thread-safe: the step loop owns it.
 */
public final class Detokenizer {
    private final Tokenizer tokenizer;
    private final List<String> stops;
    private final Utf8Stream utf8 = new Utf8Stream();
    private final StringBuilder text = new StringBuilder();
    /** Characters of {@link #text} released to the stream. */
    private int released;
    /** Set once a stop string was found: the text ends at {@link #text}'s length. */
    private boolean stopped;

    Detokenizer(Tokenizer tokenizer, List<String> stops) {
        this.tokenizer = tokenizer;
        this.stops = stops;
    }

    /**
     * Adds {@code token}, which follows {@code previous}, and returns the text it releases to a stream.
     * Check {@link #stopped()} after: if a stop string appeared, the text now ends before it.
     */
    String append(int previous, int token) {
        if (stopped) {
            throw new IllegalStateException("a stop string already ended the text");
        }
        int searchFrom = Math.max(0, text.length() - longestStop() + 1);
        text.append(utf8.append(tokenizer.decodeBytes(previous, token)));
        int end = text.length();
        if (!stops.isEmpty()) {
            int stopAt = firstStop(searchFrom);
            if (stopAt >= 0) {
                text.setLength(stopAt);
                stopped = true;
                end = stopAt;
            } else {
                end -= heldBack();
            }
        }
        String out = end > released ? text.substring(released, end) : "";
        released = Math.max(released, end);
        return out;
    }

    /**
     * The text of {@code tokens} after {@code previous}: every token's raw bytes concatenated, then decoded as
     * UTF-8, so that characters split over byte tokens come out whole (malformed bytes become U+FFFD).
     */
    public static String decode(Tokenizer tokenizer, int previous, int[] tokens) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        for (int token : tokens) {
            bytes.writeBytes(tokenizer.decodeBytes(previous, token));
            previous = token;
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    /** Whether a stop string ended the text. */
    boolean stopped() {
        return stopped;
    }

    /** The text so far: without stop strings, everything decoded; with them, up to a stop string found. */
    String text() {
        return text.toString();
    }

    private int longestStop() {
        int longest = 1;
        for (String stop : stops) {
            longest = Math.max(longest, stop.length());
        }
        return longest;
    }

    /** Where the earliest stop string begins at or after {@code from}, or -1. */
    private int firstStop(int from) {
        int first = -1;
        for (String stop : stops) {
            int at = text.indexOf(stop, from);
            if (at >= 0 && (first < 0 || at < first)) {
                first = at;
            }
        }
        return first;
    }

    /** Characters at the end of the text that begin some stop string: they may yet become one. */
    private int heldBack() {
        int held = 0;
        for (String stop : stops) {
            for (int n = Math.min(stop.length() - 1, text.length()); n > held; n--) {
                if (CharSequence.compare(text.subSequence(text.length() - n, text.length()), stop.substring(0, n))
                        == 0) {
                    held = n;
                    break;
                }
            }
        }
        return held;
    }
}
