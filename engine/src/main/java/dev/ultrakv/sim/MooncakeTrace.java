package dev.ultrakv.sim;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Reads a Mooncake trace (kvcache-ai/Mooncake, FAST'25 release, Apache-2.0): one JSON object per line,
 * {@code {"timestamp": ms, "input_length": tokens, "output_length": tokens, "hash_ids": [...]}}, where each hash
 * id names one block of {@value #TOKENS_PER_HASH} prompt tokens (equal ids, equal content; an id implies the ids
 * before it), the last block possibly partial.
 *
 * <p>A trace is replayed at block granularity: each hash id becomes one token of an index with one token per
 * block, so a cached "token" is a cached 512-token block and matching compares hash chains exactly. Outputs are
 * not inserted: the trace names no hash for them, and a next turn's prompt already carries the previous answer.
 * The token hit rate of such a replay is therefore a block hit rate.
 */
public final class MooncakeTrace {
    /** Prompt tokens per hash id in the Mooncake release. */
    public static final int TOKENS_PER_HASH = 512;
    /** The excerpt shipped with the engine: the last 300 requests of the FAST'25 synthetic trace. */
    public static final String EXCERPT_RESOURCE = "/dev/ultrakv/sim/mooncake_synthetic_last300.jsonl";

    private MooncakeTrace() {
    }

    /** Reads the trace at {@code path}, naming the workload after the file. */
    public static Workload read(Path path) throws IOException {
        try (InputStream in = Files.newInputStream(path)) {
            return read(in, "mooncake:" + path.getFileName());
        }
    }

    /** The shipped excerpt (see {@code NOTICE-mooncake.md} beside it). */
    public static Workload excerpt() {
        try (InputStream in = MooncakeTrace.class.getResourceAsStream(EXCERPT_RESOURCE)) {
            if (in == null) {
                throw new IllegalStateException("missing resource " + EXCERPT_RESOURCE);
            }
            return read(in, "mooncake-excerpt");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Reads a trace from {@code in} (UTF-8, one object per line, blank lines skipped).
     *
     * @throws IOException              if reading fails
     * @throws IllegalArgumentException naming the line of a malformed record
     */
    public static Workload read(InputStream in, String name) throws IOException {
        var reader = new BufferedReader(new InputStreamReader(in, StandardCharsets.UTF_8));
        List<TraceRequest> requests = new ArrayList<>();
        String line;
        int number = 0;
        while ((line = reader.readLine()) != null) {
            number++;
            if (!line.isBlank()) {
                try {
                    requests.add(new TraceRequest(hashIds(line), new int[0]));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(name + " line " + number + ": " + e.getMessage(), e);
                }
            }
        }
        return new Workload(name, 1, TOKENS_PER_HASH, requests);
    }

    /** The {@code hash_ids} array of one record. */
    static int[] hashIds(String line) {
        int key = line.indexOf("\"hash_ids\"");
        if (key < 0) {
            throw new IllegalArgumentException("no hash_ids");
        }
        int open = line.indexOf('[', key);
        int close = line.indexOf(']', open + 1);
        if (open < 0 || close < 0) {
            throw new IllegalArgumentException("hash_ids is not an array");
        }
        String body = line.substring(open + 1, close).trim();
        if (body.isEmpty()) {
            throw new IllegalArgumentException("hash_ids is empty");
        }
        String[] parts = body.split(",");
        int[] ids = new int[parts.length];
        for (int i = 0; i < parts.length; i++) {
            try {
                ids[i] = Integer.parseInt(parts[i].trim());
            } catch (NumberFormatException e) {
                throw new IllegalArgumentException("hash id '" + parts[i].trim() + "' is not an int", e);
            }
            if (ids[i] < 0) {
                throw new IllegalArgumentException("negative hash id " + ids[i]);
            }
        }
        return ids;
    }
}
