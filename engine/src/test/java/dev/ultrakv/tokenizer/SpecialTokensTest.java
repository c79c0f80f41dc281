package dev.ultrakv.tokenizer;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class SpecialTokensTest {

    private static final String[] PIECES = {"a", "<|im_start|>", "<|im_end|>", "<|im", "ö", "<unk>", "<|end|>"};
    private static final TokenType[] TYPES = {TokenType.NORMAL, TokenType.CONTROL, TokenType.USER_DEFINED,
        TokenType.CONTROL, TokenType.USER_DEFINED, TokenType.UNKNOWN, TokenType.NORMAL};
    private static final SpecialTokens SPECIALS = SpecialTokens.forVocabulary(PIECES, TYPES, "Qwen2");

    /** The fragments as text: a token as #id, a stretch as its text in quotes. */
    private static List<String> cut(SpecialTokens specials, String text, boolean parseSpecial) {
        List<String> out = new ArrayList<>();
        for (SpecialTokens.Fragment f : specials.partition(text, parseSpecial)) {
            out.add(switch (f) {
                case SpecialTokens.Token t -> "#" + t.id();
                case SpecialTokens.Text t -> "'" + text.substring(t.start(), t.end()) + "'";
            });
        }
        return out;
    }

    @Test
    void longestTokenFirst_thenTheTextBetween() {
        assertEquals(List.of("'x'", "#1", "'y'", "#3", "' z'"), cut(SPECIALS, "x<|im_start|>y<|im z", true));
    }

    @Test
    void controlAndUnknownTokens_arePlainTextWithoutParsing_userDefinedOnesAreStillFound() {
        assertEquals(List.of("'<|im_start|>'", "#4", "'<unk>'"), cut(SPECIALS, "<|im_start|>ö<unk>", false));
        assertEquals(List.of("#1", "#4", "#5"), cut(SPECIALS, "<|im_start|>ö<unk>", true));
    }

    /** llama.cpp's end-of-turn texts are control tokens whatever their type says, so plain text when not parsing. */
    @Test
    void endOfTurnText_isControlWhateverItsType() {
        assertEquals(List.of("'<|end|>'"), cut(SPECIALS, "<|end|>", false));
        assertEquals(List.of("#6"), cut(SPECIALS, "<|end|>", true));
    }

    /** Phi-3 (by llama.cpp's test of general.name): special tokens strip ASCII whitespace on their right. */
    @Test
    void phi3Tokens_stripWhitespaceOnTheirRight_exceptBosAndEndOfText() {
        String[] pieces = {"<s>", "<|user|>", "</s>", "x"};
        TokenType[] types = {TokenType.CONTROL, TokenType.CONTROL, TokenType.USER_DEFINED, TokenType.NORMAL};
        SpecialTokens phi3 = SpecialTokens.forVocabulary(pieces, types, "Phi3");
        assertEquals(List.of("#0", "' \\n x'", "#1", "'x'", "#2", "'\u00a0x'"),
                cut(phi3, "<s> \n x<|user|>\n \tx</s> \u00a0x", true).stream().map(s -> s.replace("\n", "\\n"))
                        .toList());
        SpecialTokens other = SpecialTokens.forVocabulary(pieces, types, "Llama");
        assertEquals(List.of("#1", "'\\n x'"), cut(other, "<|user|>\n x", true).stream()
                .map(s -> s.replace("\n", "\\n")).toList());
    }

    /** Whatever the text, the stretches and the tokens' texts join to give it back (no stripping here). */
    @Test
    void fragments_joinToTheText() {
        Random random = new Random(3);
        String[] parts = {"a", "<|im_start|>", "<|im_end|>", "<|im", "ö", "<unk>", " ", "<|", "|>", "\n"};
        for (int i = 0; i < 500; i++) {
            StringBuilder sb = new StringBuilder();
            for (int n = random.nextInt(12); n > 0; n--) {
                sb.append(parts[random.nextInt(parts.length)]);
            }
            String text = sb.toString();
            boolean parse = random.nextBoolean();
            StringBuilder joined = new StringBuilder();
            for (SpecialTokens.Fragment f : SPECIALS.partition(text, parse)) {
                joined.append(switch (f) {
                    case SpecialTokens.Token t -> PIECES[t.id()];
                    case SpecialTokens.Text t -> text.substring(t.start(), t.end());
                });
            }
            assertEquals(text, joined.toString());
        }
    }

    /**
     * SentencePiece: the text after a special token gets the leading space as the first text does (llama.cpp's
     * is_prev_special), and none at all without add_space_prefix.
     */
    @Test
    void sentencePiece_textAfterASpecialTokenGetsTheLeadingSpace() {
        List<String> tokens = List.of("<unk>", "<s>", "</s>", "▁", "a", "▁a", "<|x|>");
        float[] scores = {0, 0, 0, -1, -2, -1, 0};
        int[] types = {2, 3, 3, 1, 1, 1, 3};
        SentencePieceTokenizer prefixed = SentencePieceTokenizer.fromGguf(tokens, scores, types, 0, true,
                new VocabularySettings(1, 2, true, false, null));
        assertEquals(List.of(5, 6, 5), boxed(prefixed.encode("a<|x|>a", false, true)));
        assertEquals(List.of(1, 5, 6, 5), boxed(prefixed.encode("a<|x|>a", true, true)));
        SentencePieceTokenizer bare = SentencePieceTokenizer.fromGguf(tokens, scores, types, 0, false,
                new VocabularySettings(1, 2, true, false, null));
        assertEquals(List.of(4, 6, 4), boxed(bare.encode("a<|x|>a", false, true)));
        assertEquals(List.of(1), boxed(bare.encode("", true, true)));
    }

    /** A chat model ends its turn with its end-of-turn token, not only with EOS, as in llama.cpp's EOG set. */
    @Test
    void endOfTurnTokens_endGenerationBesideEos() {
        assertEquals(List.of(2, 6), java.util.stream.IntStream.range(0, PIECES.length)
                .filter(SPECIALS::endsGeneration).boxed().toList());
        List<String> tokens = List.of("<unk>", "<s>", "</s>", "▁", "a", "<|im_end|>", "<|im_start|>");
        SentencePieceTokenizer tokenizer = SentencePieceTokenizer.fromGguf(tokens, new float[7],
                new int[] {2, 3, 3, 1, 1, 3, 3}, 0, true, new VocabularySettings(1, 2, true, false, null));
        assertEquals(List.of(2, 5), java.util.stream.IntStream.range(0, tokens.size())
                .filter(tokenizer::endsGeneration).boxed().toList());
    }

    private static List<Integer> boxed(int[] ids) {
        return java.util.Arrays.stream(ids).boxed().toList();
    }
}
