package dev.ultrakv.tokenizer;

/**
 * A tokenizer file or vocabulary is malformed: truncated, inconsistent with the model, or missing a token that the
 * algorithm needs. The message names the source and the problem.
 */
public final class TokenizerFormatException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** Creates the exception with a message that names the source and the problem. */
    public TokenizerFormatException(String message) {
        super(message);
    }
}
