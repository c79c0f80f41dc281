package dev.ultrakv.tokenizer;

import java.util.Map;
import java.util.function.IntConsumer;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A pre-tokenizer regex that llama.cpp runs through C++'s {@code std::regex} (ECMAScript), made to cut as it does.
 *
 * <h2>How llama.cpp runs such a regex</h2>
 * {@code std::regex} knows no Unicode categories, so when the regex names {@code \p{N}}, {@code \p{L}},
 * {@code \p{P}}, {@code \p{M}} or {@code \p{S}}, llama.cpp matches it against the "collapsed" text, where every
 * non-ASCII code point is one stand-in character of its category, and replaces each category in the regex by a
 * class of that stand-in and the category's ASCII members (llama.cpp's own list: {@code \p{S}} there lacks
 * {@code ~}, and {@code ~} is then in no category). Without categories, the regex runs on the code points, with
 * non-ASCII whitespace replaced by the vertical tab so that ASCII {@code \s} matches it. Doing the same here makes
 * Java's backtracking engine, whose alternation and greediness are ECMAScript's, give llama.cpp's cuts; Java's
 * {@code \s} without {@link Pattern#UNICODE_CHARACTER_CLASS} is the same six ASCII characters. The one syntax
 * difference that matters: ECMAScript's {@code $} is only the end, Java's also before a final line break, so it
 * becomes {@code \z}.
 */
final class RegexSplit implements SplitStep {

    private static final Map<String, String> CATEGORY_CLASSES = Map.of(
            "\\p{N}", CodepointClass.COLLAPSED_NUMBER + "0-9",
            "\\p{L}", CodepointClass.COLLAPSED_LETTER + "A-Za-z",
            "\\p{P}", CodepointClass.COLLAPSED_PUNCTUATION + "!-#%-*,-/:-;?-@\\[-\\]_\\{\\}",
            "\\p{M}", String.valueOf(CodepointClass.COLLAPSED_MARK),
            "\\p{S}", CodepointClass.COLLAPSED_SYMBOL + "\\$\\+<->\\^`\\|");
    /** {@code \p{X}}: five characters. */
    private static final int CATEGORY_LENGTH = 5;

    private final String regex;
    private final Pattern pattern;
    private final boolean collapsed;

    private RegexSplit(String regex, Pattern pattern, boolean collapsed) {
        this.regex = regex;
        this.pattern = pattern;
        this.collapsed = collapsed;
    }

    /**
     * Compiles one of llama.cpp's pre-tokenizer regexes.
     *
     * @throws TokenizerFormatException if it mixes categories with non-ASCII characters (llama.cpp refuses that
     *                                  too) or Java cannot compile it
     */
    static RegexSplit of(String regex) {
        boolean usesCategories = CATEGORY_CLASSES.keySet().stream().anyMatch(regex::contains);
        if (usesCategories && regex.chars().anyMatch(c -> c >= 0x80)) {
            throw new TokenizerFormatException("pre-tokenizer regex " + regex + " names Unicode categories and holds"
                    + " non-ASCII characters, which llama.cpp's way of matching cannot take");
        }
        return new RegexSplit(regex, Pattern.compile(translate(regex, usesCategories)), usesCategories);
    }

    /** The regex as llama.cpp wrote it. */
    String regex() {
        return regex;
    }

    /** llama.cpp's rewriting of the categories (when {@code collapse}), and ECMAScript's {@code $} as Java's. */
    static String translate(String regex, boolean collapse) {
        StringBuilder out = new StringBuilder(regex.length() * 2);
        boolean inside = false;
        for (int i = 0; i < regex.length(); i++) {
            char c = regex.charAt(i);
            boolean escaped = i > 0 && regex.charAt(i - 1) == '\\';
            if (c == '[' && !escaped) {
                inside = true;
            } else if (c == ']' && inside && !escaped) {
                inside = false;
            } else if (collapse && c == '\\' && i + CATEGORY_LENGTH <= regex.length()
                    && CATEGORY_CLASSES.containsKey(regex.substring(i, i + CATEGORY_LENGTH))) {
                String members = CATEGORY_CLASSES.get(regex.substring(i, i + CATEGORY_LENGTH));
                out.append(inside ? members : "[" + members + "]");
                i += CATEGORY_LENGTH - 1;
                continue;
            } else if (c == '$' && !inside && !escaped) {
                out.append("\\z");
                continue;
            }
            out.append(c);
        }
        return out.toString();
    }

    @Override
    public void split(SplitText text, int from, int to, IntConsumer lengths) {
        if (collapsed) {
            cut(text.collapsed().substring(from, to), lengths, null, 0);
        } else {
            int start = text.wideCharIndex(from);
            cut(text.wide().substring(start, text.wideCharIndex(to)), lengths, text, start);
        }
    }

    /**
     * Passes on the lengths of the matches and of the text between them, in code points: one per char of a
     * collapsed segment, else counted through {@code text}'s char-to-code-point map from {@code base}.
     */
    private void cut(String segment, IntConsumer lengths, SplitText text, int base) {
        Matcher m = pattern.matcher(segment);
        int done = 0;
        while (m.find()) {
            if (m.start() > done) {
                lengths.accept(codePoints(text, base, done, m.start()));
            }
            if (m.end() > m.start()) {
                lengths.accept(codePoints(text, base, m.start(), m.end()));
            }
            done = m.end();
        }
        if (done < segment.length()) {
            lengths.accept(codePoints(text, base, done, segment.length()));
        }
    }

    private static int codePoints(SplitText text, int base, int start, int end) {
        return text == null ? end - start : text.wideCodePointAt(base + end) - text.wideCodePointAt(base + start);
    }
}
