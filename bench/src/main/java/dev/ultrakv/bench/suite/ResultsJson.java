package dev.ultrakv.bench.suite;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/** {@code results.json}: a run's {@link SuiteResults} as JSON (Jackson), and back as a tree for comparisons. */
public final class ResultsJson {
    /** The schema of {@code results.json}, on the classpath. */
    public static final String SCHEMA_RESOURCE = "/dev/ultrakv/bench/suite/results.schema.json";
    private static final ObjectMapper MAPPER = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    private ResultsJson() {
    }

    /** The results as indented JSON. */
    public static String write(SuiteResults results) {
        try {
            return MAPPER.writeValueAsString(results);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * The {@code results.json} of a results directory (or the file itself) as a tree.
     *
     * @throws IllegalArgumentException naming the file when it is missing or not JSON
     */
    public static JsonNode read(Path directoryOrFile) {
        Path file = directoryOrFile.toFile().isDirectory() ? directoryOrFile.resolve(SuiteReports.JSON)
                : directoryOrFile;
        try {
            return MAPPER.readTree(file.toFile());
        } catch (IOException e) {
            throw new IllegalArgumentException(file + ": cannot read the results (" + e.getMessage() + ")");
        }
    }
}
