package dev.ultrakv.tokenizer;

import java.util.function.IntConsumer;

/**
 * Llama 3's pre-tokenizer regex {@code (?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}|
 * ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+} as llama.cpp's hand-written matcher
 * ({@code unicode_regex_split_custom_llama3}) applies it; llama.cpp uses it for this regex and for its
 * {@code (?:'[sS]|'[tT]|...)} spelling (Llama 3, DBRX, Smaug, ChatGLM-4).
 */
final class Llama3Split implements SplitStep {

    /** {@code \p{N}{1,3}}: numbers are cut into groups of at most three digits, from the left. */
    private static final int DIGIT_GROUP = 3;

    @Override
    public void split(SplitText text, int from, int to, IntConsumer lengths) {
        int pos = from;
        while (pos < to) {
            int cp = text.codePoint(pos);
            if (CodepointClass.isNumber(cp)) {
                int end = Gpt2Split.runOf(text, pos, to, CodepointClass::isNumber);
                for (; end - pos > DIGIT_GROUP; pos += DIGIT_GROUP) {
                    lengths.accept(DIGIT_GROUP);
                }
                lengths.accept(end - pos);
                pos = end;
                continue;
            }
            int end = next(text, pos, to, cp);
            lengths.accept(end - pos);
            pos = end;
        }
    }

    private static int next(SplitText text, int pos, int to, int cp) {
        int contraction = ContractionMatch.length(text, pos, to, true);
        if (contraction > 0) {
            return pos + contraction;
        }
        boolean newline = cp == '\r' || cp == '\n';
        boolean letterNext = pos + 1 < to && CodepointClass.isLetter(text.codePoint(pos + 1));
        if (!newline && !CodepointClass.isNumber(cp) && (CodepointClass.isLetter(cp) || letterNext)) {
            return Gpt2Split.runOf(text, pos + 1, to, CodepointClass::isLetter);
        }
        int p = cp == ' ' ? pos + 1 : pos;
        // llama.cpp's matcher takes a space at the very end here too (where the regex's \s+ would take it alone).
        if (p >= to || Gpt2Split.isOther(text.codePoint(p))) {
            int end = Gpt2Split.runOf(text, p, to, Gpt2Split::isOther);
            return Gpt2Split.runOf(text, end, to, c -> c == '\r' || c == '\n');
        }
        int spaces = 0;
        int afterLastNewline = -1;
        while (pos + spaces < to && CodepointClass.isWhitespace(text.codePoint(pos + spaces))) {
            int c = text.codePoint(pos + spaces);
            spaces++;
            if (c == '\r' || c == '\n') {
                afterLastNewline = pos + spaces;
            }
        }
        if (afterLastNewline >= 0) {
            return afterLastNewline;    // \s*[\r\n]+
        }
        if (spaces > 1 && pos + spaces < to) {
            return pos + spaces - 1;    // \s+(?!\S)
        }
        return spaces > 0 ? pos + spaces : pos + 1;
    }
}
