package dev.ultrakv.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Set;

/**
 * The tokens whose text is found in a text before tokenizing it, and the cutting of a text around them: llama.cpp's
 * {@code tokenizer_st_partition}.
 *
 * <h2>What is found</h2>
 * Control, user-defined and unknown tokens, the longest first; the text between them is then tokenized as usual.
 * Without special-token parsing, control and unknown tokens are plain text, but user-defined tokens are still found
 * (as in llama.cpp and Hugging Face's tokenizers: DeepSeek's vocabulary holds 2,398 such tokens, single letters
 * among them). A token may strip the ASCII whitespace on its left or right (llama.cpp's LSTRIP and RSTRIP
 * attributes; GGUF does not store them, so llama.cpp sets them by model name, and so does {@link #forVocabulary}).
 */
final class SpecialTokens {

    /** A cut: a token, or a stretch {@code [start, end)} of the text. */
    sealed interface Fragment {
    }

    /** A special token found in the text. */
    record Token(int id) implements Fragment {
    }

    /** Text to tokenize as usual, {@code [start, end)} of the whole. */
    record Text(int start, int end) implements Fragment {
    }

    private record Special(int id, String text, boolean parsedOnlyOnRequest, boolean lstrip, boolean rstrip) {
    }

    /**
     * Texts that llama.cpp makes control tokens whatever their type says, so that they are plain text without
     * special-token parsing: its end-of-turn, end-of-message, end-of-generation and fill-in-the-middle lists
     * (llama.cpp takes the end-of-turn and fill-in-the-middle ones only where the file names no such token; here
     * they always are, which differs only for a file that names another token and also holds one of these as
     * user-defined).
     */
    private static final Set<String> CONTROL_BY_TEXT = Set.of("<|eot_id|>", "<|im_end|>", "<|end|>",
            "<end_of_turn>", "<|endoftext|>", "<EOT>", "<\uFF5Cend\u2581of\u2581sentence\uFF5C>", "<|eom_id|>",
            "<|fim_prefix|>", "<fim-prefix>", "<\uFF5Cfim\u2581begin\uFF5C>", "<PRE>",
            "<|fim_suffix|>", "<fim-suffix>", "<\uFF5Cfim\u2581hole\uFF5C>", "<SUF>",
            "<|fim_middle|>", "<fim-middle>", "<\uFF5Cfim\u2581end\uFF5C>", "<MID>",
            "<|fim_pad|>", "<fim-pad>", "<PAD>", "<|fim_repo|>", "<|repo_name|>", "<fim-repo>", "<REPO>",
            "<|file_sep|>");

    /**
     * Texts of the tokens that end a reply besides the end-of-sequence token, as llama.cpp collects its
     * end-of-generation set: a chat model ends its turn with one of these ({@code <|im_end|>}, {@code <|eot_id|>}).
     */
    private static final Set<String> END_OF_GENERATION = Set.of("<|eot_id|>", "<|im_end|>", "<|end|>",
            "<end_of_turn>", "<|endoftext|>", "<|eom_id|>", "<EOT>", "<\uFF5Cend\u2581of\u2581sentence\uFF5C>");

    private final List<Special> specials;   // longest text first
    private final BitSet endOfGeneration;   // (vocab) ids whose text is in END_OF_GENERATION

    private SpecialTokens(List<Special> specials, BitSet endOfGeneration) {
        this.specials = specials;
        this.endOfGeneration = endOfGeneration;
    }

    /** Whether {@code id} is one of the vocabulary's end-of-turn tokens ({@link #END_OF_GENERATION}). */
    boolean endsGeneration(int id) {
        return endOfGeneration.get(id);
    }

    /**
     * The special tokens of a vocabulary.
     *
     * @param modelName GGUF's {@code general.name}, or null: Phi-3's tokens strip whitespace on their right, which
     *                  llama.cpp decides by that name
     */
    static SpecialTokens forVocabulary(String[] pieces, TokenType[] types, String modelName) {
        String name = modelName == null ? "" : modelName.toLowerCase(Locale.ROOT);
        boolean phi3 = name.contains("phi-3") || name.contains("phi3");
        List<Special> specials = new ArrayList<>();
        BitSet endOfGeneration = new BitSet();
        for (int id = 0; id < pieces.length; id++) {
            TokenType type = types[id];
            if (END_OF_GENERATION.contains(pieces[id])) {
                endOfGeneration.set(id);
            }
            boolean control = type == TokenType.CONTROL || type == TokenType.UNKNOWN
                    || CONTROL_BY_TEXT.contains(pieces[id]);
            if ((control || type == TokenType.USER_DEFINED) && !pieces[id].isEmpty()) {
                boolean rstrip = phi3 && !Set.of("<unk>", "<s>", "<|endoftext|>").contains(pieces[id]);
                specials.add(new Special(id, pieces[id], control, false, rstrip));
            }
        }
        // llama.cpp orders by UTF-8 length; ties keep id order (its sort leaves them unspecified).
        specials.sort(Comparator.comparingInt((Special s) -> s.text.getBytes(StandardCharsets.UTF_8).length)
                .reversed());
        return new SpecialTokens(List.copyOf(specials), endOfGeneration);
    }

    /**
     * Cuts {@code text} into special tokens and the stretches between them.
     *
     * @param parseSpecial whether control and unknown tokens are found too, not only user-defined ones
     */
    List<Fragment> partition(String text, boolean parseSpecial) {
        List<Fragment> fragments = new ArrayList<>();
        if (text.isEmpty()) {
            return fragments;
        }
        fragments.add(new Text(0, text.length()));
        for (Special special : specials) {
            if (special.parsedOnlyOnRequest && !parseSpecial) {
                continue;
            }
            List<Fragment> next = new ArrayList<>(fragments.size());
            for (Fragment fragment : fragments) {
                if (fragment instanceof Text t) {
                    cut(text, t, special, next);
                } else {
                    next.add(fragment);
                }
            }
            fragments = next;
        }
        return fragments;
    }

    private static void cut(String text, Text stretch, Special special, List<Fragment> out) {
        int pos = stretch.start();
        int end = stretch.end();
        boolean found = false;
        while (true) {
            int match = text.indexOf(special.text, pos);
            if (match < 0 || match + special.text.length() > end) {
                break;
            }
            found = true;
            int leftEnd = match;
            while (special.lstrip && leftEnd > pos && isCSpace(text.charAt(leftEnd - 1))) {
                leftEnd--;
            }
            if (leftEnd > pos) {
                out.add(new Text(pos, leftEnd));
            }
            out.add(new Token(special.id));
            pos = match + special.text.length();
            while (special.rstrip && pos < end && isCSpace(text.charAt(pos))) {
                pos++;
            }
        }
        if (!found) {
            out.add(stretch);
        } else if (pos < end) {
            out.add(new Text(pos, end));
        }
    }

    /** C's {@code isspace} in the C locale, which llama.cpp strips with. */
    private static boolean isCSpace(char c) {
        return c == ' ' || (c >= '\t' && c <= '\r');
    }
}
