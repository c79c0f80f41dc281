package dev.ultrakv.model;

/** Why generation stopped. */
public enum StopReason {
    /** The model produced its end-of-sequence (or beginning-of-sequence) token. */
    END_OF_SEQUENCE,
    /** The requested number of new tokens was produced. */
    MAX_TOKENS,
    /** The model's context length was reached. */
    CONTEXT_FULL,
    /** One of the request's stop strings appeared; the text ends before it. */
    STOP_STRING
}
