package dev.ultrakv.sampling;

/**
 * The logits to sample from hold a NaN or a positive infinity: the model's arithmetic broke down (NaN or huge
 * weights, an overflow), and no token can be chosen honestly. Negative infinity is allowed, since it only rules
 * a token out, unless every token is ruled out (then the token is 0 and the value negative infinity).
 *
 * <p>The {@link Sampler} throws it knowing only the logits; a caller that knows the model and the position
 * rethrows it with {@link #at(String, int)}, whose message can be shown to the user as is.
 */
public final class NonFiniteLogitsException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** The token whose logit is the first non-finite one. */
    private final int tokenId;
    /** That logit: NaN or positive infinity (negative infinity when every logit is). */
    private final float value;

    /**
     * @param tokenId the token of the first non-finite logit
     * @param value   its logit: NaN, positive infinity, or negative infinity when every logit is
     */
    public NonFiniteLogitsException(int tokenId, float value) {
        this("non-finite logit (" + value + ") for token " + tokenId, tokenId, value, null);
    }

    private NonFiniteLogitsException(String message, int tokenId, float value, Throwable cause) {
        super(message, cause);
        this.tokenId = tokenId;
        this.value = value;
    }

    /** The token of the first non-finite logit. */
    public int tokenId() {
        return tokenId;
    }

    /** The first non-finite logit: NaN or positive infinity (negative infinity when every logit is). */
    public float value() {
        return value;
    }

    /**
     * This problem told with its context: "model stories260K produced a non-finite logit (NaN) for token 17 at
     * position 5". Same token and value; this exception is the cause.
     *
     * @param model    the model's name
     * @param position the position whose forward pass produced the logits
     */
    public NonFiniteLogitsException at(String model, int position) {
        return new NonFiniteLogitsException("model " + model + " produced a non-finite logit (" + value
                + ") for token " + tokenId + " at position " + position, tokenId, value, this);
    }
}
