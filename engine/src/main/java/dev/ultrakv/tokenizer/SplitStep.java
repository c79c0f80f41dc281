package dev.ultrakv.tokenizer;

import java.util.function.IntConsumer;

/**
 * One regex of a pre-tokenizer's list, as llama.cpp's {@code unicode_regex_split} applies it: it cuts one piece
 * of the text, left by the regexes before it, into consecutive pieces, the text between two matches being a piece
 * of its own (nothing is dropped).
 */
interface SplitStep {

    /**
     * Cuts the code points {@code [from, to)} of {@code text} and passes the length of each piece, in order, to
     * {@code lengths}; the lengths are positive and sum to {@code to - from}.
     */
    void split(SplitText text, int from, int to, IntConsumer lengths);
}
