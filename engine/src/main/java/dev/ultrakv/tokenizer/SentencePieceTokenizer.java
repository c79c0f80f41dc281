package dev.ultrakv.tokenizer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * SentencePiece-style BPE with byte fallback, exactly as llama2.c's {@code run.c} encodes and prints (its
 * {@code encode}, {@code decode} and {@code safe_printf}). Loads llama2.c's {@code tokenizer.bin} or the
 * {@code tokenizer.ggml.*} arrays of a GGUF file whose {@code tokenizer.ggml.model} is {@code "llama"}.
 *
 * <h2>Encoding</h2>
 * Special and user-defined tokens are cut out first ({@link SpecialTokens}, as llama.cpp); each text between them is
 * encoded alone. BOS if asked; then, for non-empty text (the first, and each right after a special token, with
 * {@code add_space_prefix}), the dummy-prefix token (the piece {@code " "}); then one token per UTF-8
 * character whose piece exists, else one byte-fallback token per byte of it. Then the adjacent pair whose
 * concatenation is a piece of highest score merges, the leftmost among equal scores, until none does. run.c rescans
 * for every merge (quadratic); {@link PairMerger} gets the same result in O(n log n). As in run.c, BOS stays in the
 * sequence while merging, and a piece scoring at or below {@link #MIN_MERGE_SCORE} never merges.
 *
 * <h2>Decoding</h2>
 * After BOS a piece's leading space is dropped; a byte token is its raw byte; then run.c's {@code safe_printf}
 * prints nothing for a one-byte result that C's {@code isprint} and {@code isspace} both reject. In the C locale
 * that includes every byte from 0x80 up, so run.c prints nothing for the byte-fallback tokens of characters that
 * have no piece (most CJK and emoji with tok512). {@link #decode} keeps that, byte for byte;
 * {@link #decodeUnfiltered} is run.c's {@code decode} alone, whose concatenation gives back any text.
 *
 * <h2>GGUF vocabularies</h2>
 * SentencePiece writes a space as "▁" (U+2581) in its pieces; llama.cpp's converter of llama2.c models keeps that
 * ({@code "▁t"}, and {@code "▁"} for the dummy prefix), and names BOS and EOS {@code <s>} and {@code </s>} where
 * tok512.bin has {@code "\n<s>\n"} and {@code "\n</s>\n"}. This class maps "▁" to a space in the pieces of
 * ordinary tokens rather than mapping spaces to "▁" in the text, so one algorithm serves both sources and a GGUF
 * vocabulary tokenizes every text as its tokenizer.bin twin does, except that a GGUF vocabulary reads a literal "▁"
 * in the text as a space, as llama.cpp does (it writes every space as "▁" before tokenizing); tokenizer.bin keeps
 * run.c's reading, where "▁" is text.
 *
 * <h2>Left out on purpose</h2>
 * run.c stops at a NUL byte (C strings); here U+0000 is an ordinary character. Java encodes an unpaired surrogate as
 * {@code '?'}. Pieces with equal bytes: the lowest id wins the lookup (run.c's binary search picks an arbitrary one;
 * real vocabularies have none).
 */
public final class SentencePieceTokenizer implements Tokenizer {

    /**
     * run.c starts its search for the best merge at this score ({@code float best_score = -1e10}) and merges only
     * pieces scoring strictly above it.
     */
    static final float MIN_MERGE_SCORE = -1e10f;

    /** SentencePiece's visible space, which GGUF llama vocabularies use in place of ' '. */
    private static final char SPM_SPACE = '\u2581';

    /** Largest tokenizer.bin read whole (the largest byte array); real ones are a few MB at most. */
    private static final long MAX_FILE_BYTES = Integer.MAX_VALUE - 8;
    /** llama2.c's fixed special ids: {@code <unk>} 0, BOS 1, EOS 2; byte {@code b} is token {@code b + 3}. */
    private static final int LLAMA2C_UNK = 0;
    private static final int LLAMA2C_BOS = 1;
    private static final int LLAMA2C_EOS = 2;
    private static final int LLAMA2C_FIRST_BYTE_TOKEN = 3;

    /** A byte token's piece is {@code <0xXX>}: six characters, two of them hex digits from index 3. */
    private static final int BYTE_PIECE_LENGTH = 6;
    private static final int BYTE_PIECE_HEX_START = 3;
    private static final int BYTE_COUNT = 256;
    /** run.c groups a UTF-8 lead byte with at most this many bytes in all. */
    private static final int MAX_UTF8_BYTES = 4;

    private final String[] displayPieces;   // (vocab) the pieces as stored, for piece()
    private final byte[][] output;          // (vocab) the bytes a token prints: "▁" as ' ', <0xXX> as the byte
    private final String[] keys;            // (vocab) the piece's text as ISO-8859-1, one char per byte, for lookup
    private final float[] scores;           // (vocab)
    private final TokenType[] types;        // (vocab)
    private final Map<String, Integer> idByKey;
    private final int[] byteTokens;         // (256) the token of each byte, for fallback
    private final int bos;
    private final int eos;
    private final int dummyPrefix;          // the " " piece, or -1 without add_space_prefix
    private final VocabularySettings settings;
    private final SpecialTokens specials;
    private final boolean spmSpaceIsSpace;  // GGUF: a "▁" in the text is a space, as in llama.cpp

    /**
     * @param pieces the pieces' text as run.c compares it: spaces as ' ', byte tokens still spelled {@code <0xXX>}
     */
    private SentencePieceTokenizer(String[] displayPieces, byte[][] pieces, float[] scores, TokenType[] types,
                                   int unk, boolean addSpacePrefix, VocabularySettings settings, String source,
                                   boolean spmSpaceIsSpace) {
        int n = pieces.length;
        this.displayPieces = displayPieces;
        this.output = new byte[n][];
        this.scores = scores;
        this.types = types;
        this.bos = checkId(settings.bos(), n, "BOS", source);
        this.eos = checkId(settings.eos(), n, "EOS", source);
        this.settings = settings;
        this.specials = SpecialTokens.forVocabulary(displayPieces, types, settings.modelName());
        this.spmSpaceIsSpace = spmSpaceIsSpace;
        this.keys = new String[n];
        this.idByKey = HashMap.newHashMap(n);
        this.byteTokens = new int[BYTE_COUNT];
        Arrays.fill(byteTokens, -1);
        for (int id = 0; id < n; id++) {
            keys[id] = new String(pieces[id], StandardCharsets.ISO_8859_1);
            idByKey.putIfAbsent(keys[id], id);
            if (types[id] == TokenType.BYTE) {
                int byteValue = parseBytePiece(pieces[id]);
                if (byteValue < 0) {
                    throw new TokenizerFormatException(source + ": token " + id + " has type BYTE but its piece \""
                            + displayPieces[id] + "\" is not <0xXX>");
                }
                output[id] = new byte[] {(byte) byteValue};
                if (byteTokens[byteValue] < 0) {
                    byteTokens[byteValue] = id;
                }
            } else {
                output[id] = pieces[id];
            }
        }
        for (int b = 0; b < BYTE_COUNT; b++) {
            if (byteTokens[b] < 0) {
                byteTokens[b] = checkId(unk, n, "unknown-token", source);
            }
        }
        Integer space = idByKey.get(" ");
        if (space == null && addSpacePrefix) {
            throw new TokenizerFormatException(source + ": the vocabulary has no \" \" (or \"▁\") piece for the"
                    + " dummy prefix");
        }
        this.dummyPrefix = addSpacePrefix ? space : -1;
    }

    /**
     * Loads llama2.c's {@code tokenizer.bin}.
     *
     * @param vocabSize the model header's {@code vocab_size}; the file must hold exactly that many tokens
     * @throws TokenizerFormatException if the file is truncated, malformed or holds another number of tokens
     * @throws UncheckedIOException if the file cannot be read
     */
    public static SentencePieceTokenizer fromLlama2c(Path file, int vocabSize) {
        byte[] data;
        try {
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) {
                throw new TokenizerFormatException(file + ": " + size + " bytes is too large for a tokenizer.bin (at"
                        + " most " + MAX_FILE_BYTES + "); is it the model file?");
            }
            data = Files.readAllBytes(file);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read tokenizer file " + file, e);
        }
        return fromLlama2c(data, vocabSize, file.toString());
    }

    /**
     * Loads llama2.c's {@code tokenizer.bin} from a stream (for example the classpath resource
     * {@code /dev/ultrakv/models/tok512.bin}); the stream is read to its end but not closed.
     *
     * @param source names the data in error messages
     * @see #fromLlama2c(Path, int)
     */
    public static SentencePieceTokenizer fromLlama2c(InputStream in, int vocabSize, String source) {
        try {
            return fromLlama2c(in.readAllBytes(), vocabSize, source);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read tokenizer " + source, e);
        }
    }

    /**
     * Loads llama2.c's {@code tokenizer.bin} from its bytes.
     *
     * @param source names the data in error messages
     * @see #fromLlama2c(Path, int)
     */
    public static SentencePieceTokenizer fromLlama2c(byte[] data, int vocabSize, String source) {
        Llama2cVocabularyReader.Vocabulary vocabulary = Llama2cVocabularyReader.read(data, vocabSize, source);
        byte[][] pieces = vocabulary.pieces();
        int n = pieces.length;
        if (n < LLAMA2C_FIRST_BYTE_TOKEN + BYTE_COUNT) {
            throw new TokenizerFormatException(source + ": " + n + " tokens cannot hold <unk>, BOS, EOS and the "
                    + BYTE_COUNT + " byte tokens that llama2.c expects at ids 0.." + (LLAMA2C_FIRST_BYTE_TOKEN
                    + BYTE_COUNT - 1));
        }
        String[] display = new String[n];
        TokenType[] types = new TokenType[n];
        for (int id = 0; id < n; id++) {
            display[id] = new String(pieces[id], StandardCharsets.UTF_8);
            int byteValue = parseBytePiece(pieces[id]);
            if (id == LLAMA2C_BOS || id == LLAMA2C_EOS) {
                types[id] = TokenType.CONTROL;
            } else if (byteValue >= 0) {
                types[id] = TokenType.BYTE;
            } else if (id == LLAMA2C_UNK) {
                types[id] = TokenType.UNKNOWN;
            } else {
                types[id] = TokenType.NORMAL;
            }
        }
        for (int b = 0; b < BYTE_COUNT; b++) {
            int id = LLAMA2C_FIRST_BYTE_TOKEN + b;
            if (parseBytePiece(pieces[id]) != b) {
                throw new TokenizerFormatException(source + ": token " + id + " is \"" + display[id]
                        + "\" but llama2.c's byte fallback encodes byte " + b + " as token " + id
                        + String.format(" (<0x%02X>)", b));
            }
        }
        return new SentencePieceTokenizer(display, pieces, vocabulary.scores().clone(), types, LLAMA2C_UNK, true,
                new VocabularySettings(LLAMA2C_BOS, LLAMA2C_EOS, true, false, null), source, false);
    }

    /**
     * Builds the tokenizer from GGUF metadata of {@code tokenizer.ggml.model = "llama"}: the
     * {@code tokenizer.ggml.tokens}, {@code .scores} and {@code .token_type} arrays and the
     * {@code .bos_token_id}, {@code .eos_token_id} and {@code .unknown_token_id} values.
     *
     * @param tokenTypes GGUF type codes (see {@link TokenType}); byte tokens (6) must be spelled {@code <0xXX>}
     * @throws TokenizerFormatException if the arrays disagree in length, an id is out of range, a byte token is
     *                                  misspelled or the vocabulary lacks the "▁" piece
     */
    public static SentencePieceTokenizer fromGguf(List<String> tokens, float[] scores, int[] tokenTypes,
                                                  int bos, int eos, int unk) {
        return fromGguf(tokens, scores, tokenTypes, unk, true, new VocabularySettings(bos, eos, true, false, null));
    }

    /**
     * As {@link #fromGguf(List, float[], int[], int, int, int)}, with the file's settings.
     *
     * @param addSpacePrefix {@code tokenizer.ggml.add_space_prefix} (llama.cpp's default: true): whether a text,
     *                       and each text after a special token, gets SentencePiece's leading space
     */
    public static SentencePieceTokenizer fromGguf(List<String> tokens, float[] scores, int[] tokenTypes, int unk,
                                                  boolean addSpacePrefix, VocabularySettings settings) {
        String source = "GGUF llama vocabulary";
        int n = tokens.size();
        if (scores.length != n || tokenTypes.length != n) {
            throw new TokenizerFormatException(source + ": " + n + " tokens but " + scores.length + " scores and "
                    + tokenTypes.length + " token types");
        }
        String[] display = tokens.toArray(new String[0]);
        byte[][] pieces = new byte[n][];
        TokenType[] types = new TokenType[n];
        for (int id = 0; id < n; id++) {
            types[id] = TokenType.ofToken(tokenTypes[id], id, source);
            if (types[id] == TokenType.NORMAL || types[id] == TokenType.USER_DEFINED
                    || types[id] == TokenType.UNUSED) {
                pieces[id] = display[id].replace(SPM_SPACE, ' ').getBytes(StandardCharsets.UTF_8);
            } else {
                pieces[id] = display[id].getBytes(StandardCharsets.UTF_8);
            }
        }
        return new SentencePieceTokenizer(display, pieces, scores.clone(), types, unk, addSpacePrefix, settings,
                source, true);
    }

    @Override
    public int vocabularySize() {
        return output.length;
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

    /**
     * {@inheritDoc}
     *
     * <p>As llama.cpp: the first text, and each text right after a special token, gets the leading space (with
     * {@code add_space_prefix}); each text merges on its own, BOS merging with the first as in run.c.
     */
    @Override
    public int[] encode(String text, boolean addBos, boolean parseSpecial) {
        IntList out = new IntList();
        boolean bosPending = addBos;
        boolean afterSpecial = true;
        for (SpecialTokens.Fragment fragment : specials.partition(text, parseSpecial)) {
            switch (fragment) {
                case SpecialTokens.Token t -> {
                    if (bosPending) {
                        out.add(bos);
                        bosPending = false;
                    }
                    out.add(t.id());
                    afterSpecial = true;
                }
                case SpecialTokens.Text t -> {
                    out.addAll(encodeText(text.substring(t.start(), t.end()), bosPending, afterSpecial));
                    bosPending = false;
                    afterSpecial = false;
                }
            }
        }
        if (bosPending) {
            out.add(bos);
        }
        return out.toArray();
    }

    private int[] encodeText(String text, boolean withBos, boolean spacePrefix) {
        byte[] utf8 = (spmSpaceIsSpace ? text.replace(SPM_SPACE, ' ') : text).getBytes(StandardCharsets.UTF_8);
        int[] symbols = new int[utf8.length + 2];
        int n = 0;
        if (withBos) {
            symbols[n++] = bos;
        }
        if (spacePrefix && dummyPrefix >= 0) {
            symbols[n++] = dummyPrefix;
        }
        int start = 0;
        while (start < utf8.length) {
            int length = 1;
            while (start + length < utf8.length && isContinuation(utf8[start + length]) && length < MAX_UTF8_BYTES) {
                length++;
            }
            Integer id = idByKey.get(new String(utf8, start, length, StandardCharsets.ISO_8859_1));
            if (id != null) {
                symbols[n++] = id;
            } else {
                for (int i = start; i < start + length; i++) {
                    symbols[n++] = byteTokens[utf8[i] & 0xFF];
                }
            }
            start += length;
        }
        return PairMerger.mergeAll(Arrays.copyOf(symbols, n), this::findMerge);
    }

    private PairMerger.Merge findMerge(int left, int right) {
        Integer id = idByKey.get(keys[left].concat(keys[right]));
        if (id == null) {
            return null;
        }
        float score = scores[id];
        // Written so that NaN fails too, as run.c's "score > best_score" does.
        return score > MIN_MERGE_SCORE ? new PairMerger.Merge(id, score) : null;
    }

    /**
     * {@inheritDoc}
     *
     * <p>As run.c's {@code decode} then {@code safe_printf}: a one-byte result that is neither printable ASCII nor
     * whitespace prints nothing, which also drops the lone bytes (0x80 and up) of byte-fallback UTF-8 characters.
     */
    @Override
    public byte[] decode(int previousToken, int token) {
        byte[] bytes = decodeUnfiltered(previousToken, token);
        if (bytes.length == 1 && !isPrintOrSpace(bytes[0] & 0xFF)) {
            return new byte[0];
        }
        return bytes;
    }

    /**
     * The bytes of {@code token} after {@code previousToken} before run.c's {@code safe_printf} filter: the piece,
     * less its leading space after BOS, or the raw byte of a byte token. Control tokens (BOS, EOS) give nothing.
     * Concatenated over {@code encode(text, true)} this gives back exactly the UTF-8 bytes of {@code text}.
     */
    public byte[] decodeUnfiltered(int previousToken, int token) {
        if (types[token] == TokenType.CONTROL) {
            return new byte[0];
        }
        byte[] piece = output[token];
        if (previousToken == bos && piece.length > 0 && piece[0] == ' ' && types[token] != TokenType.BYTE) {
            return Arrays.copyOfRange(piece, 1, piece.length);
        }
        return piece.clone();
    }

    /** The raw bytes of {@code token}: {@link #decodeUnfiltered}. */
    @Override
    public byte[] decodeBytes(int previousToken, int token) {
        return decodeUnfiltered(previousToken, token);
    }

    @Override
    public String piece(int token) {
        return displayPieces[token];
    }

    /** The score of {@code token}'s piece; merges prefer higher scores. */
    public float score(int token) {
        return scores[token];
    }

    @Override
    public TokenType tokenType(int token) {
        return types[token];
    }

    private static boolean isContinuation(byte b) {
        return (b & 0xC0) == 0x80;
    }

    /** C's {@code isprint(b) || isspace(b)} in the C locale: 0x20..0x7E, or 0x09..0x0D. */
    private static boolean isPrintOrSpace(int b) {
        return (b >= ' ' && b <= '~') || (b >= '\t' && b <= '\r');
    }

    /** The byte a {@code <0xXX>} piece stands for (either case of hex digit), or -1 for any other piece. */
    private static int parseBytePiece(byte[] piece) {
        if (piece.length != BYTE_PIECE_LENGTH || piece[0] != '<' || piece[1] != '0' || piece[2] != 'x'
                || piece[BYTE_PIECE_LENGTH - 1] != '>') {
            return -1;
        }
        int high = Character.digit(piece[BYTE_PIECE_HEX_START], 16);
        int low = Character.digit(piece[BYTE_PIECE_HEX_START + 1], 16);
        return high < 0 || low < 0 ? -1 : high * 16 + low;
    }

    private static int checkId(int id, int vocabularySize, String what, String source) {
        if (id < 0 || id >= vocabularySize) {
            throw new TokenizerFormatException(source + ": " + what + " id " + id + " is outside the vocabulary of "
                    + vocabularySize + " tokens");
        }
        return id;
    }
}
