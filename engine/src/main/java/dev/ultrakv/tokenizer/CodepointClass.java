package dev.ultrakv.tokenizer;

/**
 * The classes of code points that llama.cpp's pre-tokenizers test ({@code unicode_cpt_flags}): letter, number,
 * punctuation, accent mark, symbol, whitespace, from Java's Unicode tables.
 *
 * <h2>Why whitespace is a list</h2>
 * llama.cpp's {@code \s} is Unicode's White_Space property, which is neither {@link Character#isWhitespace} (that
 * leaves out U+00A0 and U+2007 and takes in U+001C..U+001F) nor Java's ASCII {@code \s}; the 25 code points are
 * listed here.
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

    private CodepointClass() {
    }

    static boolean isLetter(int cp) {
        return Character.isLetter(cp);
    }

    static boolean isNumber(int cp) {
        return switch (Character.getType(cp)) {
            case Character.DECIMAL_DIGIT_NUMBER, Character.LETTER_NUMBER, Character.OTHER_NUMBER -> true;
            default -> false;
        };
    }

    static boolean isWhitespace(int cp) {
        return java.util.Arrays.binarySearch(WHITESPACE, cp) >= 0;
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
        return switch (Character.getType(cp)) {
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
}
