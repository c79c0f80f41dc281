package dev.ultrakv.core;

import dev.ultrakv.model.StopReason;
import dev.ultrakv.sampling.TokenLogprob;

/**
 * What the {@link EngineCore} tells the front about its requests, on the step loop's thread, in the order the
 * loop produced it. Implementations hand the events on (to futures and listeners) and return at once: the loop
 * waits for them.
 *
 * @param <R> the front's request type
 */
public interface CoreOutputs<R extends CoreRequest> {

    /** {@code request} left the queue: admitted, or ended before it. Once per request. */
    void leftQueue(R request);

    /**
     * {@code request} generated a token (told only for requests that {@linkplain CoreRequest#streams() stream}).
     *
     * @param index   the token's place in the generation, from 0
     * @param text    the text it releases (see {@code GeneratedToken#text})
     * @param logprob its log-probability, or null unless asked for
     */
    void token(R request, int index, int tokenId, String text, TokenLogprob logprob);

    /**
     * {@code request} is done: its tokens, log-probabilities and first-token time are on it.
     *
     * @param text       the generated text (ending before a stop string, when one was found)
     * @param nowNanos   ticker time of the end
     */
    void finished(R request, String text, StopReason reason, long nowNanos);

    /** {@code request} failed (or was stopped at its deadline, or the engine halted) with {@code cause}. */
    void failed(R request, Throwable cause);

    /** The loop ended and released the cache and the model: no event follows. */
    void halted();
}
