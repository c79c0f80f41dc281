package dev.ultrakv.bench.serve;

/**
 * Why a request failed where the server sent no HTTP error status. A request answered with a status other than
 * 200 is counted under that status (its decimal digits, e.g. {@code 429}) instead.
 */
public enum ErrorKind {
    /** No response within the per-request timeout. */
    TIMEOUT("timeout"),
    /** Still running at the run's overall deadline, and cancelled. */
    DEADLINE("deadline"),
    /** The connection could not be made or broke. */
    CONNECTION("connection"),
    /** A stream that ended before {@code data: [DONE]}. */
    INCOMPLETE("incomplete"),
    /** A body that is not the JSON the API defines, or an error object inside a 200 stream. */
    PROTOCOL("protocol");

    private final String key;

    ErrorKind(String key) {
        this.key = key;
    }

    /** The name errors of this kind are counted under. */
    public String key() {
        return key;
    }
}
