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
     * Encodes {@code text}.
     *
     * @param addBos whether to put {@link #bosId()} first
     */
    int[] encode(String text, boolean addBos);

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
}
