package dev.ultrakv.tokenizer;

/**
 * A text being pre-tokenized, in the forms llama.cpp's regex splitting reads it: code points, the "collapsed"
 * text (one character per code point, each non-ASCII one replaced by a stand-in of its category, see
 * {@link CodepointClass#collapsed}) and the "wide" text (the code points with non-ASCII whitespace replaced by the
 * vertical tab). The two strings are made on first use.
 */
final class SplitText {
    private final int[] codePoints;
    private String collapsed;
    private String wide;
    private int[] wideCharIndex;     // (code points + 1) where each code point starts in wide
    private int[] wideCodePointAt;   // (wide chars + 1) the code point each char of wide belongs to

    SplitText(int[] codePoints) {
        this.codePoints = codePoints;
    }

    int length() {
        return codePoints.length;
    }

    int codePoint(int index) {
        return codePoints[index];
    }

    String collapsed() {
        if (collapsed == null) {
            char[] chars = new char[codePoints.length];
            for (int i = 0; i < chars.length; i++) {
                chars[i] = CodepointClass.collapsed(codePoints[i]);
            }
            collapsed = new String(chars);
        }
        return collapsed;
    }

    String wide() {
        if (wide == null) {
            StringBuilder sb = new StringBuilder(codePoints.length);
            wideCharIndex = new int[codePoints.length + 1];
            for (int i = 0; i < codePoints.length; i++) {
                wideCharIndex[i] = sb.length();
                int cp = codePoints[i];
                boolean nonAsciiSpace = cp >= 0x80 && CodepointClass.isWhitespace(cp);
                sb.appendCodePoint(nonAsciiSpace ? CodepointClass.COLLAPSED_WHITESPACE : cp);
            }
            wideCharIndex[codePoints.length] = sb.length();
            wideCodePointAt = new int[sb.length() + 1];
            for (int i = 0; i < codePoints.length; i++) {
                for (int c = wideCharIndex[i]; c < wideCharIndex[i + 1]; c++) {
                    wideCodePointAt[c] = i;
                }
            }
            wideCodePointAt[sb.length()] = codePoints.length;
            wide = sb.toString();
        }
        return wide;
    }

    /** Where code point {@code index} starts in {@link #wide()}. */
    int wideCharIndex(int index) {
        wide();
        return wideCharIndex[index];
    }

    /** The code point that char {@code charIndex} of {@link #wide()} belongs to. */
    int wideCodePointAt(int charIndex) {
        wide();
        return wideCodePointAt[charIndex];
    }
}
