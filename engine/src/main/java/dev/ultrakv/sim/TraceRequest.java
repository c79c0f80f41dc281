package dev.ultrakv.sim;

import java.util.Arrays;

/**
 * One request of a workload: the prompt it sends and the tokens the model generates for it. Arrays are shared,
 * not copied: do not modify them.
 *
 * @param prompt       tokens looked up in the cache, at least one
 * @param output       generated tokens, possibly none; their K/V (all but the last one's) are cached with the
 *                     prompt's
 * @param promptTokens real tokens the prompt stands for: its length for token workloads, the trace's
 *                     {@code input_length} for a trace replayed one hash id per block
 */
public record TraceRequest(int[] prompt, int[] output, int promptTokens) {

    /** Validates the prompt. */
    public TraceRequest {
        if (prompt.length == 0) {
            throw new IllegalArgumentException("a request needs at least one prompt token");
        }
        if (promptTokens < prompt.length) {
            throw new IllegalArgumentException("a prompt of " + prompt.length + " blocks or tokens cannot stand for "
                    + promptTokens + " tokens");
        }
    }

    /** A request of a token workload: the prompt stands for itself. */
    public TraceRequest(int[] prompt, int[] output) {
        this(prompt, output, prompt.length);
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
