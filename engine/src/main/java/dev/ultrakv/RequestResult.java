package dev.ultrakv;

import dev.ultrakv.model.StopReason;
import dev.ultrakv.sampling.TokenLogprob;

import java.time.Duration;
import java.util.List;

/**
 * What the engine produced for one {@link Request}.
 *
 * <p>Times are measured from the moment the request was submitted, so they include the time it waited in the
 * queue behind other requests.
 */
public final class RequestResult {
    private final String id;
    private final String text;
    private final int promptTokens;
    private final int cachedPromptTokens;
    private final int[] generatedTokenIds;
    private final StopReason stopReason;
    private final long timeToFirstTokenNanos;
    private final long latencyNanos;
    private final List<TokenLogprob> logprobs;

    RequestResult(String id, String text, int promptTokens, int cachedPromptTokens, int[] generatedTokenIds,
                  StopReason stopReason, long timeToFirstTokenNanos, long latencyNanos, List<TokenLogprob> logprobs) {
        this.id = id;
        this.text = text;
        this.promptTokens = promptTokens;
        this.cachedPromptTokens = cachedPromptTokens;
        this.generatedTokenIds = generatedTokenIds.clone();
        this.stopReason = stopReason;
        this.timeToFirstTokenNanos = timeToFirstTokenNanos;
        this.latencyNanos = latencyNanos;
        this.logprobs = List.copyOf(logprobs);
    }

    /** The request's id, or the one the engine gave it ({@code "request-N"}). */
    public String id() {
        return id;
    }

    /** The generated text, decoded as UTF-8 from the generated tokens' bytes (the stop token excluded). */
    public String text() {
        return text;
    }

    /** Tokens of the prompt, BOS included. */
    public int promptTokens() {
        return promptTokens;
    }

    /** Prompt tokens whose keys and values came from the cache instead of being computed. */
    public int cachedPromptTokens() {
        return cachedPromptTokens;
    }

    /** Tokens generated (the stop token excluded). */
    public int generatedTokens() {
        return generatedTokenIds.length;
    }

    /** The generated token ids, in order (a copy). */
    public int[] generatedTokenIds() {
        return generatedTokenIds.clone();
    }

    /** Whether every prompt token was found in the cache (a request hit). */
    public boolean cacheHit() {
        return cachedPromptTokens == promptTokens;
    }

    /** Why generation stopped. */
    public StopReason stopReason() {
        return stopReason;
    }

    /** From submission to the first generated token being sampled. */
    public Duration timeToFirstToken() {
        return Duration.ofNanos(timeToFirstTokenNanos);
    }

    /** From submission to the result being ready. */
    public Duration latency() {
        return Duration.ofNanos(latencyNanos);
    }

    /**
     * Each generated token's log-probability with its most likely alternatives, in order; empty unless the request
     * asked for them ({@link Request#logprobs()}).
     */
    public List<TokenLogprob> logprobs() {
        return logprobs;
    }

    @Override
    public String toString() {
        return "RequestResult[" + id + ", prompt " + promptTokens + " tokens (" + cachedPromptTokens + " cached), "
                + generatedTokenIds.length + " generated, " + stopReason + ", ttft " + timeToFirstToken()
                + ", latency " + latency() + "]";
    }
}
