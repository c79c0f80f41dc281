package dev.ultrakv;

/**
 * One token of a request's generation, as streamed to a {@link TokenListener}.
 *
 * @param requestId the request's id (the one given, or the engine's {@code "request-N"})
 * @param index     the token's place in the generation, from 0
 * @param tokenId   the token's id in the model's vocabulary
 * @param text      the characters this token completes: empty when it ends inside a character spread over byte
 *                  tokens, more than its own when it completes one begun before. Joined, a request's texts
 *                  give its result's text, but for malformed bytes at the very end, which only the result shows
 *                  (as U+FFFD)
 */
public record GeneratedToken(String requestId, int index, int tokenId, String text) {
}
