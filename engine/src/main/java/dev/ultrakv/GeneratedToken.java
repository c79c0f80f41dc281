package dev.ultrakv;

import dev.ultrakv.sampling.TokenLogprob;

/**
 * One token of a request's generation, as streamed to a {@link TokenListener}.
 *
 * @param requestId the request's id (the one given, or the engine's {@code "request-N"})
 * @param index     the token's place in the generation, from 0
 * @param tokenId   the token's id in the model's vocabulary
 * @param text      the characters this token releases: empty when it ends inside a character spread over byte
 *                  tokens, more than its own when it completes one begun before. With stop strings, text that
 *                  may still grow into one is held back until it cannot, and a stop string is never streamed.
 *                  Joined, a request's texts give its result's text, but for what only the result shows: malformed
 *                  bytes at the very end (as U+FFFD), and text held back when generation ended otherwise
 * @param logprob   the token's log-probability and its most likely alternatives, or null unless the request asked
 *                  for them ({@link Request#logprobs()})
 */
public record GeneratedToken(String requestId, int index, int tokenId, String text, TokenLogprob logprob) {
}
