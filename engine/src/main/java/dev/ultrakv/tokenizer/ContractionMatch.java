package dev.ultrakv.tokenizer;

/** The English contractions {@code 's|'t|'re|'ve|'m|'ll|'d} that the GPT-2 and Llama 3 pre-tokenizers split off. */
final class ContractionMatch {

    private ContractionMatch() {
    }

    /**
     * The length of the contraction at {@code pos} (2 or 3 code points), or 0 when there is none.
     *
     * @param anyCase whether the letters may be upper case too (Llama 3's {@code (?i:...)})
     */
    static int length(SplitText text, int pos, int to, boolean anyCase) {
        if (text.codePoint(pos) != '\'' || pos + 1 >= to) {
            return 0;
        }
        int next = letter(text.codePoint(pos + 1), anyCase);
        if (next == 's' || next == 't' || next == 'm' || next == 'd') {
            return 2;
        }
        if (pos + 2 < to) {
            int after = letter(text.codePoint(pos + 2), anyCase);
            if ((next == 'r' && after == 'e') || (next == 'v' && after == 'e') || (next == 'l' && after == 'l')) {
                return 3;
            }
        }
        return 0;
    }

    private static int letter(int cp, boolean anyCase) {
        return anyCase ? Character.toLowerCase(cp) : cp;
    }
}
