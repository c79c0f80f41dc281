package dev.ultrakv.model;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A model file (or an in-memory model) is missing, malformed, or uses something UltraKV does not support.
 *
 * <p>The message always starts with the file (or the in-memory model's name) followed by the problem, e.g.
 * {@code stories.gguf: not a GGUF file (magic 0x12345678, expected 0x46554747 'GGUF')}, so that it can be shown
 * to the user as is.
 */
public class ModelFormatException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /** The file or model name the problem is about. */
    private final String source;
    /** The problem, without the source. */
    private final String problem;

    /**
     * A problem with a file.
     *
     * @param file    the file, as the user named it
     * @param problem what is wrong, e.g. {@code "unsupported GGUF version 4 (supported: 2, 3)"}
     */
    public ModelFormatException(Path file, String problem) {
        this(String.valueOf(file), problem, null);
    }

    /**
     * A problem with a file, caused by {@code cause}.
     *
     * @param file    the file, as the user named it
     * @param problem what is wrong
     * @param cause   the underlying exception
     */
    public ModelFormatException(Path file, String problem, Throwable cause) {
        this(String.valueOf(file), problem, cause);
    }

    /**
     * A problem with a model that is not (or not only) a file, e.g. an in-memory synthetic model.
     *
     * @param source  a name for the model, e.g. {@code "<synthetic test-tiny>"}
     * @param problem what is wrong
     */
    public ModelFormatException(String source, String problem) {
        this(source, problem, null);
    }

    /**
     * A problem with a named model, caused by {@code cause}.
     *
     * @param source  a name for the model
     * @param problem what is wrong
     * @param cause   the underlying exception, may be {@code null}
     */
    public ModelFormatException(String source, String problem, Throwable cause) {
        super(Objects.requireNonNull(source, "source") + ": " + Objects.requireNonNull(problem, "problem"), cause);
        this.source = source;
        this.problem = problem;
    }

    /** The file or model name the problem is about. */
    public String source() {
        return source;
    }

    /** What is wrong, without the source. */
    public String problem() {
        return problem;
    }
}
