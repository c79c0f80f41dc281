package dev.ultrakv.bench.serve;

import java.util.Arrays;

/**
 * What one request of a load did, as instants of one monotonic clock (nanoseconds), and the figures derived from
 * them the way vLLM's {@code benchmark_serving} derives its own.
 *
 * <pre>
 *   sent      first text chunk     ...      last text chunk   end of the response
 *    |--- TTFT ---|--- ITL ---|--- ITL ---|----------------------|
 *    |------------------------------- end to end -----------------|
 *   TPOT = (end to end - TTFT) / (output tokens - 1)
 * </pre>
 *
 * @param sentNanos     when the request was sent
 * @param chunkNanos    when each streamed chunk that carried text arrived (empty when not streaming)
 * @param endNanos      when the response's body ended (after {@code data: [DONE]} when streaming)
 * @param promptTokens  {@code usage.prompt_tokens}, or 0 when the server did not say
 * @param outputTokens  {@code usage.completion_tokens}, or the text chunks counted when the server did not say
 * @param cachedTokens  prompt tokens the server found cached, or -1 when it did not say
 * @param error         what went wrong ({@code 429}, {@code timeout}, ...; see {@link ErrorKind}), or null
 * @param text          the generated text, or on error what the server or the network said
 */
public record RequestRecord(long sentNanos, long[] chunkNanos, long endNanos, int promptTokens, int outputTokens,
                            int cachedTokens, String error, String text) {
    private static final double NANOS_PER_MILLI = 1e6;

    /**
     * A request that failed with {@code error} (an {@link ErrorKind} key or an HTTP status).
     *
     * @param detail what the server or the network said (an error body, an exception's message), or empty
     */
    public static RequestRecord failed(long sentNanos, long endNanos, String error, String detail) {
        return new RequestRecord(sentNanos, new long[0], endNanos, 0, 0, -1, error, detail == null ? "" : detail);
    }

    /** Whether it completed. */
    public boolean ok() {
        return error == null;
    }

    /** Whether the server said how many of its prompt tokens were cached. */
    public boolean cachedTokensKnown() {
        return cachedTokens >= 0;
    }

    /** Whether a text chunk arrived, so time to first token is known. */
    public boolean hasFirstToken() {
        return chunkNanos.length > 0;
    }

    /** Time to first token: from sending to the first text chunk. */
    public double ttftMs() {
        if (!hasFirstToken()) {
            throw new IllegalStateException("no text chunk arrived");
        }
        return (chunkNanos[0] - sentNanos) / NANOS_PER_MILLI;
    }

    /** End to end: from sending to the end of the response. */
    public double e2eMs() {
        return (endNanos - sentNanos) / NANOS_PER_MILLI;
    }

    /** Whether time per output token is defined: streamed, with a first chunk and more than one output token. */
    public boolean hasTpot() {
        return hasFirstToken() && outputTokens > 1;
    }

    /** Time per output token after the first: {@code (end to end - TTFT) / (output tokens - 1)}. */
    public double tpotMs() {
        if (!hasTpot()) {
            throw new IllegalStateException("time per output token needs a streamed first token and two tokens");
        }
        return (e2eMs() - ttftMs()) / (outputTokens - 1);
    }

    /** Inter-token latencies: every gap between two consecutive text chunks. */
    public double[] itlMs() {
        double[] gaps = new double[Math.max(0, chunkNanos.length - 1)];
        for (int i = 1; i < chunkNanos.length; i++) {
            gaps[i - 1] = (chunkNanos[i] - chunkNanos[i - 1]) / NANOS_PER_MILLI;
        }
        return gaps;
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof RequestRecord r && sentNanos == r.sentNanos && Arrays.equals(chunkNanos, r.chunkNanos)
                && endNanos == r.endNanos && promptTokens == r.promptTokens && outputTokens == r.outputTokens
                && cachedTokens == r.cachedTokens && java.util.Objects.equals(error, r.error) && text.equals(r.text);
    }

    @Override
    public int hashCode() {
        return java.util.Objects.hash(sentNanos, Arrays.hashCode(chunkNanos), endNanos, error, text);
    }

    @Override
    public String toString() {
        return "RequestRecord[sent=" + sentNanos + ", chunks=" + chunkNanos.length + ", end=" + endNanos
                + ", prompt=" + promptTokens + ", output=" + outputTokens + ", cached=" + cachedTokens + ", error="
                + error + "]";
    }
}
