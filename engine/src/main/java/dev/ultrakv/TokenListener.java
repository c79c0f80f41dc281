package dev.ultrakv;

/**
 * Receives a request's tokens as the engine generates them (streaming), before its future completes with the
 * whole result.
 *
 * <p>Calls come on the engine's delivery thread, never on its step loop, one at a time and in the order the
 * tokens were generated; a slow listener delays the delivery of other requests' tokens and results, not
 * generation. If it throws, the request is stopped and its future fails with what was thrown.
 */
@FunctionalInterface
public interface TokenListener {

    /** One more token of the request. */
    void onToken(GeneratedToken token);
}
