package dev.ultrakv.model.synthetic;

import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.SequencedSet;

/**
 * A deterministic SentencePiece-style vocabulary (llama.cpp's {@code llama} tokenizer model) in which any text
 * encodes and decodes back to itself, thanks to byte fallback.
 *
 * <h2>Scheme</h2>
 * <ol>
 *   <li>Token 0 {@code <unk>} (type unknown), 1 {@code <s>} (BOS) and 2 {@code </s>} (EOS), both control.</li>
 *   <li>Tokens 3..258: {@code <0x00>}..{@code <0xFF>} (type byte), the fallback for any byte of UTF-8 that no
 *       piece covers.</li>
 *   <li>Normal pieces (type normal), in this order, skipping duplicates, until the vocabulary is full:
 *       {@code "▁"} (U+2581, SentencePiece's space marker); single letters, digits and punctuation;
 *       {@code "▁"} + each letter; common English words with a leading {@code "▁"}, each preceded by its
 *       prefixes ({@code "▁t"}, {@code "▁th"}, {@code "▁the"}) so that pair merges can reach it; common
 *       subwords; then every two-letter, {@code "▁"}+two-letter, three-letter, {@code "▁"}+three-letter, ...
 *       lowercase combination.</li>
 * </ol>
 * Scores: 0 for the special and byte tokens, {@code -k} for the {@code k}-th normal piece (0-based), so earlier
 * (shorter, more common) pieces merge first, as in a trained SentencePiece model.
 */
public final class SyntheticVocabulary {

    /** Token type of a normal piece ({@code tokenizer.ggml.token_type}). */
    public static final int TYPE_NORMAL = 1;
    /** Token type of {@code <unk>}. */
    public static final int TYPE_UNKNOWN = 2;
    /** Token type of BOS and EOS. */
    public static final int TYPE_CONTROL = 3;
    /** Token type of the {@code <0xXX>} byte-fallback tokens. */
    public static final int TYPE_BYTE = 6;
    /** Id of {@code <unk>}. */
    public static final int UNK_ID = 0;
    /** Id of {@code <s>}. */
    public static final int BOS_ID = 1;
    /** Id of {@code </s>}. */
    public static final int EOS_ID = 2;
    /** Id of {@code <0x00>}; byte {@code b} is token {@code FIRST_BYTE_ID + b}. */
    public static final int FIRST_BYTE_ID = 3;
    /** The special and byte tokens: the smallest vocabulary. */
    public static final int MIN_SIZE = FIRST_BYTE_ID + 256;
    /** SentencePiece's space marker, U+2581 LOWER ONE EIGHTH BLOCK. */
    public static final String SPACE = "\u2581";

    private static final String LETTERS = "abcdefghijklmnopqrstuvwxyz";
    private static final String PUNCTUATION = ".,!?'\"-:;()";
    private static final String[] WORDS = (
            "the a and to of was he she it in is that with for on you they his her said had but not at be as"
            + " one day so little big very there time upon once play happy friend mom dad saw go went like"
            + " wanted see all what we do can are were this have from by or an my me up out no if about get will"
            + " would your when them some into just more then its good know make over think also back after use"
            + " two how our work first well way even new want because any these give most us fun tree dog cat"
            + " ball park sun home help look love toy girl boy named lily ben tom sue sam").split(" ");
    private static final String[] SUBWORDS = (
            "th he in er an re on at en nd ti es or te of ed is it al ar st to nt ng se ha as ou io le ve co me de"
            + " hi ri ro ic ne ea ra ce ing ion ly ent est ness ment tion ter ers ther all ould ay ound").split(" ");

    private final List<String> tokens;
    private final float[] scores;
    private final int[] types;

    private SyntheticVocabulary(List<String> tokens, float[] scores, int[] types) {
        this.tokens = tokens;
        this.scores = scores;
        this.types = types;
    }

    /**
     * The vocabulary of {@code size} tokens.
     *
     * @throws IllegalArgumentException if {@code size < MIN_SIZE}
     */
    public static SyntheticVocabulary of(int size) {
        if (size < MIN_SIZE) {
            throw new IllegalArgumentException("a vocabulary needs at least " + MIN_SIZE + " tokens, not " + size);
        }
        SequencedSet<String> pieces = new LinkedHashSet<>();
        pieces.add("<unk>");
        pieces.add("<s>");
        pieces.add("</s>");
        for (int b = 0; b < 256; b++) {
            pieces.add(String.format("<0x%02X>", b));
        }
        new Filler(pieces, size).fill();

        List<String> tokens = List.copyOf(pieces);
        float[] scores = new float[size];
        int[] types = new int[size];
        types[UNK_ID] = TYPE_UNKNOWN;
        types[BOS_ID] = TYPE_CONTROL;
        types[EOS_ID] = TYPE_CONTROL;
        Arrays.fill(types, FIRST_BYTE_ID, MIN_SIZE, TYPE_BYTE);
        for (int i = MIN_SIZE; i < size; i++) {
            types[i] = TYPE_NORMAL;
            scores[i] = -(i - MIN_SIZE);
        }
        return new SyntheticVocabulary(tokens, scores, types);
    }

    /** The pieces, by id ({@code tokenizer.ggml.tokens}). */
    public List<String> tokens() {
        return tokens;
    }

    /** The scores, by id ({@code tokenizer.ggml.scores}); a new array. */
    public float[] scores() {
        return scores.clone();
    }

    /** The token types, by id ({@code tokenizer.ggml.token_type}); a new array. */
    public int[] tokenTypes() {
        return types.clone();
    }

    /** Adds normal pieces in the documented order until {@code size} are there. */
    private record Filler(SequencedSet<String> pieces, int size) {
        void fill() {
            add(SPACE);
            for (char c = 'a'; c <= 'z'; c++) {
                add(String.valueOf(c));
            }
            for (char c = 'A'; c <= 'Z'; c++) {
                add(String.valueOf(c));
            }
            for (char c = '0'; c <= '9'; c++) {
                add(String.valueOf(c));
            }
            for (char c : PUNCTUATION.toCharArray()) {
                add(String.valueOf(c));
            }
            for (char c = 'a'; c <= 'z'; c++) {
                add(SPACE + c);
            }
            for (char c = 'A'; c <= 'Z'; c++) {
                add(SPACE + c);
            }
            for (String w : WORDS) {
                String word = SPACE + w;
                for (int end = 2; end <= word.length(); end++) {
                    add(word.substring(0, end));
                }
            }
            for (String s : SUBWORDS) {
                add(s);
            }
            List<String> combos = List.of("");
            while (pieces.size() < size) {
                combos = extend(combos);
                for (String c : combos) {
                    add(c);
                }
                for (String c : combos) {
                    add(SPACE + c);
                }
            }
        }

        private void add(String piece) {
            if (pieces.size() < size) {
                pieces.add(piece);
            }
        }

        /** Every combination one lowercase letter longer, in lexicographic order (at most {@code size}). */
        private List<String> extend(List<String> combos) {
            return combos.stream()
                    .flatMap(c -> LETTERS.chars().mapToObj(ch -> c + (char) ch))
                    .limit(size)
                    .toList();
        }
    }
}
