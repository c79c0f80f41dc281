package dev.ultrakv.tokenizer;

import java.util.Arrays;

/**
 * The classes of code points that llama.cpp's pre-tokenizers test ({@code unicode_cpt_flags}): letter, number,
 * punctuation, accent mark, symbol, whitespace, from Java's Unicode tables.
 *
 * <h2>Why whitespace is a list</h2>
 * llama.cpp's {@code \s} is Unicode's White_Space property, which is neither {@link Character#isWhitespace} (that
 * leaves out U+00A0 and U+2007 and takes in U+001C..U+001F) nor Java's ASCII {@code \s}; the 25 code points are
 * listed here.
 *
 * <h2>Why some assigned code points count as unassigned</h2>
 * llama.cpp's tables (unicode-data.cpp) predate Unicode 16, which Java 25 follows: the 5,185 code points that
 * Unicode 16 assigned (Garay, Todhri, Egyptian hieroglyphs extended, ...) are unassigned to llama.cpp, hence
 * neither letters nor numbers; {@link #UNICODE_16_RANGES} lists them (found by comparing every code point's class
 * in both) so that text holding them is cut as llama.cpp cuts it. A later Java with a later Unicode would add more
 * differences; the tests would show them.
 */
final class CodepointClass {

    /** Unicode's White_Space code points, ascending. */
    private static final int[] WHITESPACE = {
        0x09, 0x0A, 0x0B, 0x0C, 0x0D, 0x20, 0x85, 0xA0, 0x1680, 0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005,
        0x2006, 0x2007, 0x2008, 0x2009, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000,
    };

    /** The byte llama.cpp's collapsed text puts for a non-ASCII number ({@code \p{N}}). */
    static final char COLLAPSED_NUMBER = 0xD1;
    /** ... a non-ASCII letter ({@code \p{L}}). */
    static final char COLLAPSED_LETTER = 0xD2;
    /** ... a non-ASCII punctuation mark ({@code \p{P}}). */
    static final char COLLAPSED_PUNCTUATION = 0xD3;
    /** ... a non-ASCII accent mark ({@code \p{M}}). */
    static final char COLLAPSED_MARK = 0xD4;
    /** ... a non-ASCII symbol ({@code \p{S}}). */
    static final char COLLAPSED_SYMBOL = 0xD5;
    /** ... any other non-ASCII code point that is not whitespace. */
    static final char COLLAPSED_OTHER = 0xD0;
    /** ... non-ASCII whitespace: the vertical tab, which the regex engine's ASCII {@code \s} matches. */
    static final char COLLAPSED_WHITESPACE = 0x0B;
    private static final int ASCII_END = 0x80;

    /** Inclusive ranges, ascending, of the code points Unicode 16 assigned and llama.cpp's tables lack. */
    private static final int[] UNICODE_16_RANGES = {
        0x897, 0x897, 0x1B4E, 0x1B4F, 0x1B7F, 0x1B7F, 0x1C89, 0x1C8A, 0x2427, 0x2429, 0x31E4, 0x31E5, 0xA7CB, 0xA7CD,
        0xA7DA, 0xA7DC, 0x105C0, 0x105F3, 0x10D40, 0x10D65, 0x10D69, 0x10D85, 0x10D8E, 0x10D8F, 0x10EC2, 0x10EC4,
        0x10EFC, 0x10EFC, 0x11380, 0x11389, 0x1138B, 0x1138B, 0x1138E, 0x1138E, 0x11390, 0x113B5, 0x113B7, 0x113C0,
        0x113C2, 0x113C2, 0x113C5, 0x113C5, 0x113C7, 0x113CA, 0x113CC, 0x113D5, 0x113D7, 0x113D8, 0x113E1, 0x113E2,
        0x116D0, 0x116E3, 0x11BC0, 0x11BE1, 0x11BF0, 0x11BF9, 0x11F5A, 0x11F5A, 0x13460, 0x143FA, 0x16100, 0x16139,
        0x16D40, 0x16D79, 0x18CFF, 0x18CFF, 0x1CC00, 0x1CCF9, 0x1CD00, 0x1CEB3, 0x1E5D0, 0x1E5FA, 0x1E5FF, 0x1E5FF,
        0x1F8B2, 0x1F8BB, 0x1F8C0, 0x1F8C1, 0x1FA89, 0x1FA89, 0x1FA8F, 0x1FA8F, 0x1FABE, 0x1FABE, 0x1FAC6, 0x1FAC6,
        0x1FADC, 0x1FADC, 0x1FADF, 0x1FADF, 0x1FAE9, 0x1FAE9, 0x1FBCB, 0x1FBEF,
    };

    private CodepointClass() {
    }

    static boolean isLetter(int cp) {
        return switch (type(cp)) {
            case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER,
                 Character.MODIFIER_LETTER, Character.OTHER_LETTER -> true;
            default -> false;
        };
    }

    static boolean isNumber(int cp) {
        return switch (type(cp)) {
            case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER -> true;
            default -> false;
        };
    }

    static boolean isWhitespace(int cp) {
        return Arrays.binarySearch(WHITESPACE, cp) >= 0;
    }

    /**
     * The single character llama.cpp's {@code unicode_regex_split} puts in place of {@code cp} in its "collapsed"
     * text: ASCII stays itself, whitespace becomes the vertical tab, anything else the byte of its category.
     */
    static char collapsed(int cp) {
        if (cp < ASCII_END) {
            return (char) cp;
        }
        if (isWhitespace(cp)) {
            return COLLAPSED_WHITESPACE;
        }
        return switch (type(cp)) {
            case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER -> COLLAPSED_NUMBER;
            case Character.UPPERCASE_LETTER, Character.LOWERCASE_LETTER, Character.TITLECASE_LETTER,
                 Character.MODIFIER_LETTER, Character.OTHER_LETTER -> COLLAPSED_LETTER;
            case Character.CONNECTOR_PUNCTUATION, Character.DASH_PUNCTUATION, Character.START_PUNCTUATION,
                 Character.END_PUNCTUATION, Character.INITIAL_QUOTE_PUNCTUATION,
                 Character.FINAL_QUOTE_PUNCTUATION, Character.OTHER_PUNCTUATION -> COLLAPSED_PUNCTUATION;
            case Character.NON_SPACING_MARK, Character.ENCLOSING_MARK, Character.COMBINING_SPACING_MARK ->
                    COLLAPSED_MARK;
            case Character.MATH_SYMBOL, Character.CURRENCY_SYMBOL, Character.MODIFIER_SYMBOL,
                 Character.OTHER_SYMBOL -> COLLAPSED_SYMBOL;
            default -> COLLAPSED_OTHER;
        };
    }

    /** The general category as llama.cpp's tables give it: Java's, less what Unicode 16 added. */
    private static int type(int cp) {
        int i = Arrays.binarySearch(UNICODE_16_RANGES, cp);
        // An even index is a range's first code point; an insertion point after a range's first is inside it.
        boolean added = i >= 0 || (-i - 1) % 2 == 1;
        return added ? Character.UNASSIGNED : Character.getType(cp);
    }
}
