package dev.ultrakv.tokenizer;

/**
 * Turns text into token ids and token ids back into bytes, as the model was trained.
 *
 * <p>Decoding yields bytes, not strings: a byte-fallback token can carry part of a UTF-8 character, and the
 * reference programs print the raw bytes. Implementations are immutable and thread-safe.
 */
public interface Tokenizer {

    /** Number of tokens in the vocabulary. */
    int vocabularySize();

    /** Id of the beginning-of-sequence token. */
    int bosId();

    /** Id of the end-of-sequence token. */
    int eosId();

    /**
     * Whether generating {@code token} ends the reply: the end-of-sequence token, and the end-of-turn tokens a chat
     * vocabulary holds ({@code <|im_end|>}, {@code <|eot_id|>}, {@code <end_of_turn>}, ...), as llama.cpp's
     * end-of-generation set.
     */
    default boolean endsGeneration(int token) {
        return token == eosId();
    }

    /**
     * Whether the model wants {@link #bosId()} put first ({@code tokenizer.ggml.add_bos_token}, or llama.cpp's
     * default for the tokenizer when the file does not say).
     */
    boolean addsBos();

    /** Whether the model wants {@link #eosId()} put last ({@code tokenizer.ggml.add_eos_token}, default false). */
    boolean addsEos();

    /**
     * Encodes {@code text} with special-token parsing off: {@code encode(text, addBos, false)}.
     *
     * @param addBos whether to put {@link #bosId()} first
     */
    default int[] encode(String text, boolean addBos) {
        return encode(text, addBos, false);
    }

    /**
     * Encodes {@code text}, as llama.cpp's {@code llama_tokenize} does with {@code add_special = addBos}, less the
     * EOS that it adds for {@link #addsEos()} models.
     *
     * @param addBos       whether to put {@link #bosId()} first
     * @param parseSpecial whether the text of a control token (such as {@code <|im_start|>}) becomes that token;
     *                     user-defined tokens are found either way, and with this off control tokens are plain text
     * @throws IllegalArgumentException naming the byte and where, if the vocabulary cannot spell the text
     */
    int[] encode(String text, boolean addBos, boolean parseSpecial);

    /**
     * The bytes that {@code token} prints when it follows {@code previousToken}, as the reference program
     * prints them (for SentencePiece: the leading space of the first piece after BOS is dropped, and
     * {@code <0xXX>} pieces become the raw byte). Special tokens such as BOS and EOS decode to nothing.
     */
    byte[] decode(int previousToken, int token);

    /**
     * The raw bytes of {@code token} after {@code previousToken}: as {@link #decode} but with nothing filtered,
     * so that the bytes of {@code encode(text, true)} concatenated give back exactly the UTF-8 bytes of
     * {@code text} (a character split over byte tokens comes out whole once joined). Special tokens give nothing.
     */
    default byte[] decodeBytes(int previousToken, int token) {
        return decode(previousToken, token);
    }

    /** The piece of {@code token} as stored in the vocabulary (for diagnostics). */
    String piece(int token);

    /**
     * The type of {@code token}: a printer shows a {@link TokenType#CONTROL} token's {@link #piece} (as llama.cpp
     * does when asked for special tokens' text), since {@link #decode} gives nothing for it.
     */
    TokenType tokenType(int token);
}
