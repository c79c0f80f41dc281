package dev.ultrakv.sampling;

import java.util.List;

/**
 * A generated token's log-probability under the model (the natural log of its softmax probability over the raw
 * logits, before temperature, penalties or truncation, as vLLM reports it), with the most likely alternatives.
 *
 * @param tokenId the token's id
 * @param token   the token's text: its bytes decoded as UTF-8 (a piece of a character split over byte tokens shows
 *                as U+FFFD)
 * @param logprob its log-probability, at most 0
 * @param top     the most likely tokens at this position, most likely first (ties: lower id first), as many as
 *                the request asked for
 */
public record TokenLogprob(int tokenId, String token, float logprob, List<Alternative> top) {

    public TokenLogprob {
        top = List.copyOf(top);
    }

    /** One of the most likely tokens at a position. */
    public record Alternative(int tokenId, String token, float logprob) {
    }
}
