package dev.ultrakv.bench.suite;

import dev.ultrakv.tokenizer.Tokenizer;

import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Words that turn the token ids of a generated workload ({@code dev.ultrakv.sim.Workloads}) into text for the
 * engine, which takes text. Each word is written with a space before it, and the model's tokenizer splits text
 * at spaces, so a text of words encodes to the words' tokens one after another: texts that share their first
 * words share their first tokens, which is what a workload's shared prefixes must become.
 *
 * <h2>Notes</h2>
 * <b>Two lists.</b> {@link #single()} holds the words that are one token each, so a workload keeps its token
 * counts exactly (stories260K has about fifty). Ids are spread over them by a hash: two unrelated prompts share a
 * first word now and then, a prefix of one or two tokens that changes no request hit. {@link #numbering()}
 * adds two-token words (a word piece and a continuation piece) to reach {@link #NUMBERING_WORDS}, enough for the
 * repeats workload to number tens of thousands of distinct prompts in its first two ids, which must map one to
 * one (an id below the list's size is its index).
 */
public final class WordAlphabet {
    /** Words of the numbering list: 1000 words number 997² ≈ 994,000 distinct prompts in two ids. */
    static final int NUMBERING_WORDS = 1000;
    /** Fewer single-token words would make chance prefix sharing between unrelated prompts common. */
    static final int MIN_SINGLE_WORDS = 16;
    /** Golden-ratio multiplier of a 64-bit mix: spreads consecutive ids (a Mooncake hash chain) over words. */
    private static final long MIX = 0x9E3779B97F4A7C15L;

    private final List<String> single;
    private final List<String> numbering;

    private WordAlphabet(List<String> single, List<String> numbering) {
        this.single = List.copyOf(single);
        this.numbering = List.copyOf(numbering);
    }

    /**
     * The alphabet of {@code tokenizer}: its lowercase word pieces that encode alone to exactly one token, then
     * pairs of a word piece and a continuation piece that encode to exactly those two.
     *
     * @throws IllegalArgumentException if the vocabulary has too few such words
     */
    public static WordAlphabet of(Tokenizer tokenizer) {
        List<Integer> wordPieces = new ArrayList<>();
        List<String> continuations = new ArrayList<>();
        Set<String> single = new LinkedHashSet<>();
        for (int id = 0; id < tokenizer.vocabularySize(); id++) {
            String piece = tokenizer.piece(id);
            if (piece.matches(" [a-z]{2,}") && tokenizer.encode(piece.substring(1), false).length == 1) {
                single.add(piece.substring(1));
                wordPieces.add(id);
            } else if (piece.matches("[a-z]{2,}")) {
                continuations.add(piece);
            }
        }
        if (single.size() < MIN_SINGLE_WORDS) {
            throw new IllegalArgumentException("the tokenizer has " + single.size() + " single-token lowercase"
                    + " words; the suite's workloads need at least " + MIN_SINGLE_WORDS);
        }
        Set<String> numbering = new LinkedHashSet<>(single);
        outer:
        for (String continuation : continuations) {
            for (int piece : wordPieces) {
                if (numbering.size() >= NUMBERING_WORDS) {
                    break outer;
                }
                String word = tokenizer.piece(piece).substring(1) + continuation;
                if (!numbering.contains(word) && tokenizer.encode(word, false).length == 2) {
                    numbering.add(word);
                }
            }
        }
        return new WordAlphabet(new ArrayList<>(single), new ArrayList<>(numbering));
    }

    /** Words of one token each. */
    public List<String> single() {
        return single;
    }

    /** The numbering list: the single words first, then two-token words. */
    public List<String> numbering() {
        return numbering;
    }

    /** Text of {@code ids}, each id the index of its word in {@link #numbering()} (ids must be smaller). */
    public String numberedText(int[] ids) {
        StringBuilder text = new StringBuilder();
        for (int id : ids) {
            append(text, numbering.get(id));
        }
        return text.toString();
    }

    /** Text of {@code ids}, each id mapped by a hash to {@code wordsPerId} single-token words. */
    public String hashedText(int[] ids, int wordsPerId) {
        StringBuilder text = new StringBuilder();
        for (int id : ids) {
            long h = (id + 1L) * MIX;
            for (int w = 0; w < wordsPerId; w++) {
                append(text, single.get((int) Long.remainderUnsigned(h, single.size())));
                h = Long.rotateLeft(h, 21) * MIX;
            }
        }
        return text.toString();
    }

    private static void append(StringBuilder text, String word) {
        if (!text.isEmpty()) {
            text.append(' ');
        }
        text.append(word);
    }
}
