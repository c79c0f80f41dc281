package dev.ultrakv.sim;

import java.util.Arrays;

/**
 * One request of a workload: the prompt it sends and the tokens the model generates for it. Arrays are shared,
 * not copied: do not modify them.
 *
 * @param prompt tokens looked up in the cache, at least one
 * @param output generated tokens, possibly none; their K/V (all but the last one's) are cached with the prompt's
 */
public record TraceRequest(int[] prompt, int[] output) {

    /** Validates the prompt. */
    public TraceRequest {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("a request needs at least one prompt token");
        }
    }

    /**
     * Tokens whose K/V a finished request has written: the prompt and every generated token but the last, which
     * is sampled and never fed back.
     */
    public int kvTokens() {
        return prompt.length + Math.max(0, output.length - 1);
    }

    /** The prompt followed by the output. */
    public int[] sequence() {
        int[] all = Arrays.copyOf(prompt, prompt.length + output.length);
        System.arraycopy(output, 0, all, prompt.length, output.length);
        return all;
    }
}
