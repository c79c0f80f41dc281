package dev.ultrakv.bench.serve;

/**
 * One event of a Server-Sent Events stream, as the HTML standard's parser dispatches it.
 *
 * @param type        the event type: the last {@code event:} field, or {@code message} when there was none
 * @param data        the {@code data:} fields' values joined with line feeds (no trailing line feed)
 * @param lastEventId the last {@code id:} field seen so far in the stream, or the empty string
 */
public record SseEvent(String type, String data, String lastEventId) {
    /** The type of an event without an {@code event:} field. */
    public static final String DEFAULT_TYPE = "message";
}
