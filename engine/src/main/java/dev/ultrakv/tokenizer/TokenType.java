package dev.ultrakv.tokenizer;

/**
 * The kind of a vocabulary entry, numbered as GGUF's {@code tokenizer.ggml.token_type} array numbers them (the
 * SentencePiece {@code ModelProto.SentencePiece.Type} values).
 */
public enum TokenType {
    /** An ordinary piece of text. */
    NORMAL(1),
    /** The unknown token ({@code <unk>}). */
    UNKNOWN(2),
    /** A control token such as BOS or EOS; it stands for no text. */
    CONTROL(3),
    /** A piece added by the user, matched and printed as plain text. */
    USER_DEFINED(4),
    /** A reserved, unused slot. */
    UNUSED(5),
    /** A byte-fallback token {@code <0xXX>} that stands for one raw byte. */
    BYTE(6);

    private final int ggufCode;

    TokenType(int ggufCode) {
        this.ggufCode = ggufCode;
    }

    /** The number GGUF stores for this type. */
    public int ggufCode() {
        return ggufCode;
    }

    /**
     * The type GGUF stores as {@code code}.
     *
     * @throws TokenizerFormatException if {@code code} names no type
     */
    public static TokenType fromGguf(int code) {
        TokenType type = find(code);
        if (type == null) {
            throw new TokenizerFormatException("unknown GGUF token type " + code);
        }
        return type;
    }

    /**
     * The type of token {@code id}, whose GGUF code is {@code code}.
     *
     * @param source names the vocabulary in the message
     * @throws TokenizerFormatException naming the source, the token and the code, if it names no type
     */
    static TokenType ofToken(int code, int id, String source) {
        TokenType type = find(code);
        if (type == null) {
            throw new TokenizerFormatException(source + ": token " + id + " has unknown type " + code
                    + " in tokenizer.ggml.token_type (known: 1 to 6)");
        }
        return type;
    }

    private static TokenType find(int code) {
        for (TokenType type : values()) {
            if (type.ggufCode == code) {
                return type;
            }
        }
        return null;
    }
}
