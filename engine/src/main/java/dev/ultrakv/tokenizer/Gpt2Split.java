package dev.ultrakv.tokenizer;

import java.util.function.IntConsumer;

/**
 * GPT-2's pre-tokenizer regex {@code 's|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+}
 * as llama.cpp's hand-written matcher ({@code unicode_regex_split_custom_gpt2}) applies it, which llama.cpp uses
 * for that exact regex in place of a regex engine. The contractions are lower case only; the letters, numbers and
 * whitespace are Unicode's ({@link CodepointClass}).
 */
final class Gpt2Split implements SplitStep {

    @Override
    public void split(SplitText text, int from, int to, IntConsumer lengths) {
        int pos = from;
        while (pos < to) {
            int end = next(text, pos, to);
            lengths.accept(end - pos);
            pos = end;
        }
    }

    private static int next(SplitText text, int pos, int to) {
        int cp = text.codePoint(pos);
        int contraction = ContractionMatch.length(text, pos, to, false);
        if (contraction > 0) {
            return pos + contraction;
        }
        int p = cp == ' ' ? pos + 1 : pos;
        if (p < to) {
            int c = text.codePoint(p);
            if (CodepointClass.isLetter(c)) {
                return runOf(text, p, to, CodepointClass::isLetter);
            }
            if (CodepointClass.isNumber(c)) {
                return runOf(text, p, to, CodepointClass::isNumber);
            }
            if (isOther(c)) {
                return runOf(text, p, to, Gpt2Split::isOther);
            }
        }
        int spaces = runOf(text, pos, to, CodepointClass::isWhitespace) - pos;
        if (spaces > 1 && pos + spaces < to) {
            return pos + spaces - 1;   // \s+(?!\S): the last space goes with what follows
        }
        return spaces > 0 ? pos + spaces : pos + 1;
    }

    /** {@code [^\s\p{L}\p{N}]}. */
    static boolean isOther(int cp) {
        return !(CodepointClass.isWhitespace(cp) || CodepointClass.isLetter(cp) || CodepointClass.isNumber(cp));
    }

    /** The end of the run of code points from {@code start} that {@code test} accepts. */
    static int runOf(SplitText text, int start, int to, java.util.function.IntPredicate test) {
        int end = start;
        while (end < to && test.test(text.codePoint(end))) {
            end++;
        }
        return end;
    }
}
