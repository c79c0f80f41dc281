package dev.ultrakv.server;

/**
 * A request the server refuses, with what OpenAI's error body says about it: {@code {"error": {"message", "type",
 * "param", "code"}}}. Thrown by the handlers and turned into that body and the status by the server; its
 * message is written for the client, so it never carries a stack trace or an internal detail.
 */
public final class ApiError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** OpenAI's type for a request the client can fix. */
    public static final String INVALID_REQUEST = "invalid_request_error";

    private final int status;
    private final String type;
    private final String param;
    private final String code;

    /**
     * An error answered with {@code status}.
     *
     * @param type  OpenAI's error type, e.g. {@value #INVALID_REQUEST}
     * @param param the request field at fault, or null
     * @param code  a short machine-readable code, or null
     */
    public ApiError(int status, String type, String param, String code, String message) {
        super(message, null, false, false);
        this.status = status;
        this.type = type;
        this.param = param;
        this.code = code;
    }

    /** A 400 naming the field at fault. */
    public static ApiError invalid(String param, String message) {
        return new ApiError(400, INVALID_REQUEST, param, "invalid_value", message);
    }

    /** A 400 for a field the engine does not honour yet with this value. */
    public static ApiError unsupported(String param, String message) {
        return new ApiError(400, INVALID_REQUEST, param, "unsupported_parameter", message);
    }

    /** The HTTP status. */
    public int status() {
        return status;
    }

    /** OpenAI's error type. */
    public String type() {
        return type;
    }

    /** The request field at fault, or null. */
    public String param() {
        return param;
    }

    /** The machine-readable code, or null. */
    public String code() {
        return code;
    }
}
