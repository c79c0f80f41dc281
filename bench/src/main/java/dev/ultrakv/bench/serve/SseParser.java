package dev.ultrakv.bench.serve;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.function.Consumer;

/**
 * An incremental Server-Sent Events parser: bytes in, in pieces of any size, {@link SseEvent}s out, each handed
 * to the listener as soon as the blank line that ends it has arrived (so a caller can take its arrival time).
 *
 * <h2>Notes</h2>
 * It follows the HTML standard's "event stream interpretation" exactly (the JDK has no SSE parser):
 * <ul>
 *   <li>lines end with CR LF, LF or CR, and a CR LF split between two pieces is still one line end;</li>
 *   <li>a line beginning with a colon is a comment; a line with a colon is a field and value, one leading space
 *       of the value dropped; a line without one is a field with an empty value;</li>
 *   <li>{@code data} appends its value and a line feed to the data buffer, {@code event} sets the type, {@code id}
 *       sets the last event id (unless it holds a NUL), {@code retry} and unknown fields are ignored here;</li>
 *   <li>a blank line dispatches the event, without the data buffer's last line feed, unless the buffer is empty;
 *       then the type is reset;</li>
 *   <li>a leading byte order mark is skipped, and an event not ended by a blank line when the stream ends is
 *       discarded.</li>
 * </ul>
 * Lines are split on bytes: CR and LF never occur inside a multi-byte UTF-8 sequence, so each line is decoded
 * whole. Not thread-safe: one parser per stream.
 */
public final class SseParser {
    private static final byte CR = '\r';
    private static final byte LF = '\n';
    private static final byte[] BOM = {(byte) 0xEF, (byte) 0xBB, (byte) 0xBF};

    private final Consumer<SseEvent> listener;
    private final ByteArrayOutputStream line = new ByteArrayOutputStream();
    private final StringBuilder data = new StringBuilder();
    private String type = "";
    private String lastEventId = "";
    /** The previous byte ended a line with CR: an LF now belongs to that line end. */
    private boolean afterCr;
    /** No line has ended yet: the one that does may begin with a byte order mark. */
    private boolean firstLine = true;

    /** A parser that hands each event to {@code listener}. */
    public SseParser(Consumer<SseEvent> listener) {
        this.listener = listener;
    }

    /** Parses {@code bytes} whole. */
    public void feed(byte[] bytes) {
        feed(bytes, 0, bytes.length);
    }

    /** Parses {@code length} bytes of {@code bytes} from {@code offset}, dispatching every event they complete. */
    public void feed(byte[] bytes, int offset, int length) {
        for (int i = offset; i < offset + length; i++) {
            byte b = bytes[i];
            if (afterCr && b == LF) {
                afterCr = false;
                continue;
            }
            afterCr = b == CR;
            if (b == CR || b == LF) {
                processLine(lineText());
                line.reset();
            } else {
                line.write(b);
            }
        }
    }

    /** The last {@code id:} field seen. */
    public String lastEventId() {
        return lastEventId;
    }

    private String lineText() {
        byte[] bytes = line.toByteArray();
        int from = 0;
        if (firstLine && bytes.length >= BOM.length && bytes[0] == BOM[0] && bytes[1] == BOM[1]
                && bytes[2] == BOM[2]) {
            from = BOM.length;
        }
        firstLine = false;
        return new String(bytes, from, bytes.length - from, StandardCharsets.UTF_8);
    }

    private void processLine(String text) {
        if (text.isEmpty()) {
            dispatch();
            return;
        }
        if (text.charAt(0) == ':') {
            return;
        }
        int colon = text.indexOf(':');
        String field = colon < 0 ? text : text.substring(0, colon);
        String value = colon < 0 ? "" : text.substring(colon + 1);
        if (value.startsWith(" ")) {
            value = value.substring(1);
        }
        switch (field) {
            case "data" -> data.append(value).append('\n');
            case "event" -> type = value;
            case "id" -> {
                if (value.indexOf('\0') < 0) {
                    lastEventId = value;
                }
            }
            default -> {
                // "retry" sets a reconnection time, which a benchmark that never reconnects has no use for.
            }
        }
    }

    private void dispatch() {
        if (data.isEmpty()) {
            type = "";
            return;
        }
        String payload = data.substring(0, data.length() - 1);
        SseEvent event = new SseEvent(type.isEmpty() ? SseEvent.DEFAULT_TYPE : type, payload, lastEventId);
        data.setLength(0);
        type = "";
        listener.accept(event);
    }
}
