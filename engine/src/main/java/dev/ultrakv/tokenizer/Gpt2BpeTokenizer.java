package dev.ultrakv.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * GPT-2 byte-level BPE, for GGUF files whose {@code tokenizer.ggml.model} is {@code "gpt2"}: the text is split by
 * GPT-2's pre-tokenizer regex; each piece's UTF-8 bytes become GPT-2's printable stand-in characters (so the space
 * is "Ġ"); ranked merges join adjacent symbols, the lowest rank first and the leftmost among equals (llama.cpp's
 * order, the same as GPT-2's merge-every-occurrence loop for a merge table built in training order).
 *
 * <h2>Left out on purpose</h2>
 * Special and user-defined tokens are not searched for in the text (llama.cpp's {@code parse_special = false}),
 * and the model-specific pre-tokenizers that newer GGUFs name in {@code tokenizer.ggml.pre} (llama-bpe, qwen2, ...)
 * are not implemented: only GPT-2's. Decoding prints raw bytes: there is no reference program to copy a filter
 * from, unlike {@link SentencePieceTokenizer}.
 */
public final class Gpt2BpeTokenizer implements Tokenizer {

    /**
     * GPT-2's pre-tokenizer: English contractions, letters, digits and other characters each with an optional
     * leading space, then runs of whitespace (but not the one before a word). {@code \s} must be Unicode's
     * White_Space as in Python's {@code regex} module, hence {@link Pattern#UNICODE_CHARACTER_CLASS}.
     */
    static final Pattern GPT2_PRETOKENIZER = Pattern.compile(
            "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+",
            Pattern.UNICODE_CHARACTER_CLASS);

    private static final int BYTE_COUNT = 256;
    /** GPT-2's stand-ins for bytes that are not printable start at U+0100. */
    private static final int FIRST_STAND_IN = 256;
    /** The stand-in character of each byte (GPT-2's {@code bytes_to_unicode}). */
    private static final char[] BYTE_TO_CHAR = bytesToUnicode();
    /** The byte of each stand-in character, or -1. */
    private static final int[] CHAR_TO_BYTE = invert(BYTE_TO_CHAR);

    private final String[] pieces;            // (vocab)
    private final TokenType[] types;          // (vocab)
    private final String[] symbolText;        // (vocab + merge products not in the vocab)
    private final Map<Long, PairMerger.Merge> mergeByPair;
    private final int[] byteSymbol;           // (256) the token of each byte's stand-in character
    private final int bos;
    private final int eos;

    private Gpt2BpeTokenizer(String[] pieces, TokenType[] types, String[] symbolText,
                             Map<Long, PairMerger.Merge> mergeByPair, int[] byteSymbol, int bos, int eos) {
        this.pieces = pieces;
        this.types = types;
        this.symbolText = symbolText;
        this.mergeByPair = mergeByPair;
        this.byteSymbol = byteSymbol;
        this.bos = bos;
        this.eos = eos;
    }

    /**
     * Builds the tokenizer from GGUF metadata of {@code tokenizer.ggml.model = "gpt2"}: the
     * {@code tokenizer.ggml.tokens}, {@code .merges} (each "left right", rank = position) and {@code .token_type}
     * arrays and the BOS and EOS ids.
     *
     * @throws TokenizerFormatException if the arrays disagree in length, an id is out of range, a merge is not two
     *                                  pieces separated by a space
     */
    public static Gpt2BpeTokenizer fromGguf(List<String> tokens, List<String> merges, int[] tokenTypes,
                                            int bos, int eos) {
        String source = "GGUF gpt2 vocabulary";
        int n = tokens.size();
        if (tokenTypes.length != n) {
            throw new TokenizerFormatException(source + ": " + n + " tokens but " + tokenTypes.length
                    + " token types");
        }
        for (int id : new int[] {bos, eos}) {
            if (id < 0 || id >= n) {
                throw new TokenizerFormatException(source + ": special token id " + id + " is outside the vocabulary"
                        + " of " + n + " tokens");
            }
        }
        String[] pieces = tokens.toArray(new String[0]);
        TokenType[] types = new TokenType[n];
        Map<String, Integer> symbolIds = HashMap.newHashMap(n + merges.size());
        List<String> symbolText = new ArrayList<>(Arrays.asList(pieces));
        for (int id = 0; id < n; id++) {
            types[id] = TokenType.ofToken(tokenTypes[id], id, source);
            symbolIds.putIfAbsent(pieces[id], id);
        }
        // Some vocabularies (StarCoder's) lack the tokens of a few bytes, as llama.cpp allows: such a byte is a
        // symbol outside the vocabulary, which merges may still use; a text that leaves one unmerged cannot be
        // encoded and is refused then (see encode).
        int[] byteSymbol = new int[BYTE_COUNT];
        for (int b = 0; b < BYTE_COUNT; b++) {
            byteSymbol[b] = intern(String.valueOf(BYTE_TO_CHAR[b]), symbolIds, symbolText);
        }
        Map<Long, PairMerger.Merge> mergeByPair = HashMap.newHashMap(merges.size());
        for (int rank = 0; rank < merges.size(); rank++) {
            String merge = merges.get(rank);
            int space = merge.indexOf(' ', 1);
            if (space < 0 || space == merge.length() - 1) {
                throw new TokenizerFormatException(source + ": merge " + rank + " \"" + merge
                        + "\" is not two pieces separated by a space");
            }
            int left = intern(merge.substring(0, space), symbolIds, symbolText);
            int right = intern(merge.substring(space + 1), symbolIds, symbolText);
            int product = intern(merge.substring(0, space) + merge.substring(space + 1), symbolIds, symbolText);
            mergeByPair.putIfAbsent(pairKey(left, right), new PairMerger.Merge(product, -rank));
        }
        return new Gpt2BpeTokenizer(pieces, types, symbolText.toArray(new String[0]), mergeByPair, byteSymbol,
                bos, eos);
    }

    private static int intern(String text, Map<String, Integer> symbolIds, List<String> symbolText) {
        return symbolIds.computeIfAbsent(text, t -> {
            symbolText.add(t);
            return symbolText.size() - 1;
        });
    }

    private static long pairKey(int left, int right) {
        return ((long) left << Integer.SIZE) | (right & 0xFFFFFFFFL);
    }

    @Override
    public int vocabularySize() {
        return pieces.length;
    }

    @Override
    public int bosId() {
        return bos;
    }

    @Override
    public int eosId() {
        return eos;
    }

    @Override
    public int[] encode(String text, boolean addBos) {
        List<Integer> out = new ArrayList<>();
        if (addBos) {
            out.add(bos);
        }
        Matcher matcher = GPT2_PRETOKENIZER.matcher(text);
        while (matcher.find()) {
            byte[] utf8 = matcher.group().getBytes(StandardCharsets.UTF_8);
            int[] symbols = new int[utf8.length];
            for (int i = 0; i < utf8.length; i++) {
                symbols[i] = byteSymbol[utf8[i] & 0xFF];
            }
            for (int symbol : PairMerger.mergeAll(symbols, (l, r) -> mergeByPair.get(pairKey(l, r)))) {
                if (symbol < pieces.length) {
                    out.add(symbol);
                } else {
                    // A merge product that is not a token (a broken vocabulary): spell it with byte tokens.
                    for (char c : symbolText[symbol].toCharArray()) {
                        int byteToken = byteSymbol[CHAR_TO_BYTE[c]];
                        if (byteToken >= pieces.length) {
                            throw new IllegalArgumentException(String.format(Locale.ROOT,
                                    "this vocabulary has no token for byte 0x%02X, which the text holds in the word"
                                            + " at character %d", CHAR_TO_BYTE[c], matcher.start()));
                        }
                        out.add(byteToken);
                    }
                }
            }
        }
        return out.stream().mapToInt(Integer::intValue).toArray();
    }

    /**
     * {@inheritDoc}
     *
     * <p>Each stand-in character becomes its byte; control tokens give nothing; user-defined tokens are their text.
     * {@code previousToken} plays no part: byte-level BPE has no dummy prefix.
     */
    @Override
    public byte[] decode(int previousToken, int token) {
        return switch (types[token]) {
            case CONTROL -> new byte[0];
            case USER_DEFINED -> pieces[token].getBytes(StandardCharsets.UTF_8);
            default -> standInsToBytes(pieces[token]);
        };
    }

    @Override
    public String piece(int token) {
        return pieces[token];
    }

    private static byte[] standInsToBytes(String piece) {
        byte[] out = new byte[piece.length() * 4];
        int n = 0;
        for (int i = 0; i < piece.length(); ) {
            int cp = piece.codePointAt(i);
            if (cp < CHAR_TO_BYTE.length && CHAR_TO_BYTE[cp] >= 0) {
                out[n++] = (byte) CHAR_TO_BYTE[cp];
            } else {
                byte[] utf8 = Character.toString(cp).getBytes(StandardCharsets.UTF_8);
                System.arraycopy(utf8, 0, out, n, utf8.length);
                n += utf8.length;
            }
            i += Character.charCount(cp);
        }
        return Arrays.copyOf(out, n);
    }

    /** GPT-2's {@code bytes_to_unicode}: printable Latin-1 bytes stand for themselves, the rest for U+0100 up. */
    private static char[] bytesToUnicode() {
        char[] map = new char[BYTE_COUNT];
        int next = FIRST_STAND_IN;
        for (int b = 0; b < BYTE_COUNT; b++) {
            boolean printable = (b >= '!' && b <= '~') || (b >= '¡' && b <= '¬') || (b >= '®' && b <= 'ÿ');
            map[b] = printable ? (char) b : (char) next++;
        }
        return map;
    }

    private static int[] invert(char[] byteToChar) {
        int max = 0;
        for (char c : byteToChar) {
            max = Math.max(max, c);
        }
        int[] inverse = new int[max + 1];
        Arrays.fill(inverse, -1);
        for (int b = 0; b < byteToChar.length; b++) {
            inverse[byteToChar[b]] = b;
        }
        return inverse;
    }
}
