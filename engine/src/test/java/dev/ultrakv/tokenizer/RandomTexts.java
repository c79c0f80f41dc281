package dev.ultrakv.tokenizer;

import java.util.Random;

/** Seeded generators of test texts mixing words, spaces, punctuation and Unicode. */
final class RandomTexts {

    private static final String[] WORDS = {
        "the", "a", "and", "was", "Lily", "Tim", "Timmy", "happy", "friend", "little", "Once", "upon", "time",
        "said", "play", "big", "she", "he", "They", "named", "very", "mom", "day", "saw", "want", "ing", "ed",
    };
    private static final String PUNCTUATION = ".,!?;:'\"-()[]{}<>|\\/~`@#$%^&*_+=";
    /** Characters that tok512 has pieces for, beyond ASCII. */
    static final String TOK512_NON_ASCII = "éñâ€™“”‘’–—…\u00a0\u200a";
    private static final String ACCENTED = "àáâãäåæçèéêëìíîïðñòóôõöøùúûüýþÿłßŒœ";
    private static final String WHITESPACE = " \n\t  \n\n";
    private static final String SPECIAL_LOOKING = "<s></s><unk><0x41>\u2581";
    private static final int CJK_FIRST = 0x4E00;
    private static final int CJK_COUNT = 0x5000;
    private static final int EMOJI_FIRST = 0x1F300;
    private static final int EMOJI_COUNT = 0x300;
    private static final int CONTROL_BOUND = 0x20;

    /** What a text may contain. */
    enum Alphabet {
        /** Printable ASCII, spaces, tabs and newlines. */
        ASCII,
        /** ASCII plus the non-ASCII characters that tok512 has pieces for: run.c prints all of them. */
        PRINTABLE_BY_RUN_C,
        /** Everything: accents, CJK, emoji, control characters, text that looks like special pieces. */
        UNICODE,
    }

    private RandomTexts() {
    }

    static String text(Random random, Alphabet alphabet, int maxParts) {
        StringBuilder sb = new StringBuilder();
        int parts = random.nextInt(maxParts + 1);
        for (int i = 0; i < parts; i++) {
            int kind = random.nextInt(alphabet == Alphabet.ASCII ? 5 : alphabet == Alphabet.UNICODE ? 11 : 6);
            switch (kind) {
                case 0, 1 -> sb.append(' ').append(word(random));
                case 2 -> sb.append(word(random));
                case 3 -> sb.append(pick(random, PUNCTUATION));
                case 4 -> sb.append(pick(random, WHITESPACE));
                case 5 -> sb.append(pick(random, TOK512_NON_ASCII));
                case 6 -> sb.append(pick(random, ACCENTED));
                case 7 -> sb.appendCodePoint(CJK_FIRST + random.nextInt(CJK_COUNT));
                case 8 -> sb.appendCodePoint(EMOJI_FIRST + random.nextInt(EMOJI_COUNT));
                case 9 -> sb.appendCodePoint(random.nextInt(CONTROL_BOUND));
                default -> sb.append(SPECIAL_LOOKING, random.nextInt(SPECIAL_LOOKING.length()),
                        SPECIAL_LOOKING.length());
            }
        }
        return sb.toString();
    }

    /** Any valid code point (no lone surrogates, which Java cannot encode as UTF-8). */
    static int anyCodePoint(Random random) {
        while (true) {
            int cp = random.nextInt(4) == 0 ? random.nextInt(Character.MAX_CODE_POINT + 1) : random.nextInt(0x3000);
            if (!(cp >= Character.MIN_SURROGATE && cp <= Character.MAX_SURROGATE)) {
                return cp;
            }
        }
    }

    private static String word(Random random) {
        String w = WORDS[random.nextInt(WORDS.length)];
        return random.nextInt(4) == 0 ? w.toUpperCase(java.util.Locale.ROOT) : w;
    }

    private static char pick(Random random, String chars) {
        return chars.charAt(random.nextInt(chars.length()));
    }
}
