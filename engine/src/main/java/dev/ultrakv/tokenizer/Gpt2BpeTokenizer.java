package dev.ultrakv.tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Byte-level BPE, for GGUF files whose {@code tokenizer.ggml.model} is {@code "gpt2"} (GPT-2, Llama 3, Qwen 2,
 * DeepSeek, StarCoder, ...), as llama.cpp encodes: special and user-defined tokens are found first
 * ({@link SpecialTokens}); the text between them is cut by the vocabulary's pre-tokenizer ({@link PreTokenizer},
 * from {@code tokenizer.ggml.pre}); each piece's UTF-8 bytes become GPT-2's printable stand-in characters (so the
 * space is "Ġ"); ranked merges join adjacent symbols, the lowest rank first and the leftmost among equals (llama.cpp's
 * order, the same as GPT-2's merge-every-occurrence loop for a merge table built in training order). For Llama 3
 * and Tekken a piece that is a token as a whole is that token, merges or not (llama.cpp's ignore_merges).
 *
 * <h2>Left out on purpose</h2>
 * Decoding prints raw bytes: there is no reference program to copy a filter from, unlike
 * {@link SentencePieceTokenizer}. Where llama.cpp silently drops a byte the vocabulary has no token for, this class
 * refuses the text instead (see {@link #encode(String, boolean, boolean)}).
 */
public final class Gpt2BpeTokenizer implements Tokenizer {

    private static final int BYTE_COUNT = 256;
    /** GPT-2's stand-ins for bytes that are not printable start at U+0100. */
    private static final int FIRST_STAND_IN = 256;
    /** The stand-in character of each byte (GPT-2's {@code bytes_to_unicode}). */
    private static final char[] BYTE_TO_CHAR = bytesToUnicode();
    /** The byte of each stand-in character, or -1. */
    private static final int[] CHAR_TO_BYTE = invert(BYTE_TO_CHAR);

    private final String[] pieces;            // (vocab)
    private final TokenType[] types;          // (vocab)
    private final Map<String, Integer> symbolIds;  // pieces, then byte stand-ins that are not tokens
    private final Map<Long, PairMerger.Merge> mergeByPair;
    private final int[] byteSymbol;           // (256) the token of each byte's stand-in character
    private final PreTokenizer preTokenizer;
    private final SpecialTokens specials;
    private final VocabularySettings settings;

    private Gpt2BpeTokenizer(String[] pieces, TokenType[] types, Map<String, Integer> symbolIds,
                             Map<Long, PairMerger.Merge> mergeByPair, int[] byteSymbol, PreTokenizer preTokenizer,
                             VocabularySettings settings) {
        this.pieces = pieces;
        this.types = types;
        this.symbolIds = symbolIds;
        this.mergeByPair = mergeByPair;
        this.byteSymbol = byteSymbol;
        this.preTokenizer = preTokenizer;
        this.specials = SpecialTokens.forVocabulary(pieces, types, settings.modelName());
        this.settings = settings;
    }

    /**
     * A GPT-2 vocabulary as {@link #fromGguf(List, List, int[], PreTokenizer, VocabularySettings)} builds it, with
     * GPT-2's pre-tokenizer and no BOS or EOS added by default.
     */
    public static Gpt2BpeTokenizer fromGguf(List<String> tokens, List<String> merges, int[] tokenTypes,
                                            int bos, int eos) {
        return fromGguf(tokens, merges, tokenTypes, PreTokenizer.GPT2,
                new VocabularySettings(bos, eos, false, false, null));
    }

    /**
     * Builds the tokenizer from GGUF metadata of {@code tokenizer.ggml.model = "gpt2"}: the
     * {@code tokenizer.ggml.tokens}, {@code .merges} (each "left right", rank = position) and {@code .token_type}
     * arrays, the pre-tokenizer that {@code tokenizer.ggml.pre} names, and the settings.
     *
     * @throws TokenizerFormatException if the arrays disagree in length, an id is out of range, a merge is not two
     *                                  pieces separated by a space, or a merge names a piece that is no token
     */
    public static Gpt2BpeTokenizer fromGguf(List<String> tokens, List<String> merges, int[] tokenTypes,
                                            PreTokenizer preTokenizer, VocabularySettings settings) {
        String source = "GGUF gpt2 vocabulary";
        int n = tokens.size();
        if (tokenTypes.length != n) {
            throw new TokenizerFormatException(source + ": " + n + " tokens but " + tokenTypes.length
                    + " token types");
        }
        for (int id : new int[] {settings.bos(), settings.eos()}) {
            if (id < 0 || id >= n) {
                throw new TokenizerFormatException(source + ": special token id " + id + " is outside the vocabulary"
                        + " of " + n + " tokens");
            }
        }
        String[] pieces = tokens.toArray(new String[0]);
        TokenType[] types = new TokenType[n];
        Map<String, Integer> symbolIds = HashMap.newHashMap(n + BYTE_COUNT);
        for (int id = 0; id < n; id++) {
            types[id] = TokenType.ofToken(tokenTypes[id], id, source);
            symbolIds.putIfAbsent(pieces[id], id);
        }
        // Some vocabularies (StarCoder's) lack the tokens of a few bytes, as llama.cpp allows: such a byte is a
        // symbol outside the vocabulary; a text that needs one cannot be encoded and is refused then (see encode).
        int[] byteSymbol = new int[BYTE_COUNT];
        for (int b = 0; b < BYTE_COUNT; b++) {
            byteSymbol[b] = symbolIds.computeIfAbsent(String.valueOf(BYTE_TO_CHAR[b]), t -> symbolIds.size());
        }
        Map<Long, PairMerger.Merge> mergeByPair = HashMap.newHashMap(merges.size());
        for (int rank = 0; rank < merges.size(); rank++) {
            String merge = merges.get(rank);
            int space = merge.indexOf(' ', 1);
            if (space < 0 || space == merge.length() - 1) {
                throw new TokenizerFormatException(source + ": merge " + rank + " \"" + merge
                        + "\" is not two pieces separated by a space");
            }
            String left = merge.substring(0, space);
            String right = merge.substring(space + 1);
            int product = token(left + right, rank, merge, symbolIds, n);
            long pair = pairKey(token(left, rank, merge, symbolIds, n), token(right, rank, merge, symbolIds, n));
            mergeByPair.putIfAbsent(pair, new PairMerger.Merge(product, -rank));
        }
        return new Gpt2BpeTokenizer(pieces, types, symbolIds, mergeByPair, byteSymbol, preTokenizer, settings);
    }

    /** The token of a merge's part or product: Hugging Face's BPE refuses a merge outside the vocabulary too. */
    private static int token(String piece, int rank, String merge, Map<String, Integer> symbolIds, int n) {
        Integer id = symbolIds.get(piece);
        if (id == null || id >= n) {
            throw new TokenizerFormatException("tokenizer.ggml.merges[" + rank + "] = \"" + merge + "\" needs \""
                    + piece + "\", which is not a token of this vocabulary");
        }
        return id;
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
        return settings.bos();
    }

    @Override
    public int eosId() {
        return settings.eos();
    }

    @Override
    public boolean endsGeneration(int token) {
        return token == eosId() || specials.endsGeneration(token);
    }

    @Override
    public boolean addsBos() {
        return settings.addBos();
    }

    @Override
    public boolean addsEos() {
        return settings.addEos();
    }

    /** The pre-tokenizer that cuts text before merging. */
    public PreTokenizer preTokenizer() {
        return preTokenizer;
    }

    /**
     * {@inheritDoc}
     *
     * @throws IllegalArgumentException if the text holds a byte that this vocabulary has no token for and no merge
     *                                  absorbs (StarCoder's lacks 0xC0, 0xC1, 0xF5 to 0xFF), naming the byte and
     *                                  the character where its piece starts
     */
    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        IntList out = new IntList();
        if (addBos) {
            out.add(settings.bos());
        }
        for (SpecialTokens.Fragment fragment : specials.partition(text, parseSpecial)) {
            switch (fragment) {
                case SpecialTokens.Token t -> out.add(t.id());
                case SpecialTokens.Text t -> encodeText(text.substring(t.start(), t.end()), t.start(), out);
            }
        }
        return out.toArray();
    }

    private void encodeText(String text, int offset, IntList out) {
        int start = offset;
        for (String piece : preTokenizer.split(text)) {
            byte[] utf8 = piece.getBytes(StandardCharsets.UTF_8);
            StringBuilder standIns = new StringBuilder(utf8.length);
            int[] symbols = new int[utf8.length];
            for (int i = 0; i < utf8.length; i++) {
                symbols[i] = byteSymbol[utf8[i] & 0xFF];
                standIns.append(BYTE_TO_CHAR[utf8[i] & 0xFF]);
            }
            Integer whole = preTokenizer.ignoresMerges() ? symbolIds.get(standIns.toString()) : null;
            int[] merged = whole != null && whole < pieces.length ? new int[] {whole}
                    : PairMerger.mergeAll(symbols, (l, r) -> mergeByPair.get(pairKey(l, r)));
            for (int symbol : merged) {
                if (symbol >= pieces.length) {
                    int missing = CHAR_TO_BYTE[symbolText(symbol).charAt(0)];
                    throw new IllegalArgumentException(String.format(Locale.ROOT,
                            "this vocabulary has no token for byte 0x%02X, which the text holds in the word at"
                                    + " character %d", missing, start));
                }
                out.add(symbol);
            }
            start += piece.length();
        }
    }

    /** The stand-in text of a byte symbol that is not a token. */
    private String symbolText(int symbol) {
        for (int b = 0; b < BYTE_COUNT; b++) {
            if (byteSymbol[b] == symbol) {
                return String.valueOf(BYTE_TO_CHAR[b]);
            }
        }
        throw new IllegalStateException("symbol " + symbol + " is neither a token nor a byte");
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

    @Override
    public TokenType tokenType(int token) {
        return types[token];
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
