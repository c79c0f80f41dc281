package dev.ultrakv.sim;

import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Reads a Mooncake trace (kvcache-ai/Mooncake, FAST'25 release, Apache-2.0): one JSON object per line,
 * {@code {"timestamp": ms, "input_length": tokens, "output_length": tokens, "hash_ids": [...]}}, where each hash
 * id names one block of {@value #TOKENS_PER_HASH} prompt tokens (equal ids, equal content; an id implies the ids
 * before it), the last block possibly partial.
 *
 * <p>A trace is replayed at block granularity: each hash id becomes one token of an index with one token per
 * block, so a cached "token" is a cached 512-token block and matching compares hash chains exactly. The request's
 * real prompt length ({@code input_length}) weighs its token hit rate. Outputs are not inserted: the trace names
 * no hash for them, and a next turn's prompt already carries the previous answer.
 *
 * <p>Reading is strict and bounded: a line longer than {@value #MAX_LINE_CHARS} characters, a record that is not
 * a flat JSON object, a missing or empty {@code hash_ids}, an id that is not a non-negative int, or an
 * {@code input_length} that does not fit its ids is refused with the line's number and what is wrong.
 */
public final class MooncakeTrace {
    /** Prompt tokens per hash id in the Mooncake release. */
    public static final int TOKENS_PER_HASH = 512;
    /** The excerpt shipped with the engine: the last 300 requests of the FAST'25 synthetic trace. */
    public static final String EXCERPT_RESOURCE = "/dev/ultrakv/sim/mooncake_synthetic_last300.jsonl";
    /** Longest line read: 64 Ki hash ids of six digits and a separator, about 32 M tokens of prompt. */
    static final int MAX_LINE_CHARS = 1 << 19;

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
     * @throws IllegalArgumentException naming the line of a malformed record and what is wrong with it, or a trace
     *                                  with no request
     */
    public static Workload read(InputStream in, String name) throws IOException {
        var reader = new InputStreamReader(in, StandardCharsets.UTF_8);
        List<TraceRequest> requests = new ArrayList<>();
        char[] line = new char[256];
        int number = 0;
        while (true) {
            int length = 0;
            int c;
            while ((c = reader.read()) >= 0 && c != '\n') {
                if (length == MAX_LINE_CHARS) {
                    throw new IllegalArgumentException(name + " line " + (number + 1) + ": longer than "
                            + MAX_LINE_CHARS + " characters");
                }
                if (length == line.length) {
                    line = Arrays.copyOf(line, Math.min(MAX_LINE_CHARS, line.length * 2));
                }
                line[length++] = (char) c;
            }
            if (c < 0 && length == 0) {
                break;
            }
            number++;
            String text = new String(line, 0, length);
            if (!text.isBlank()) {
                try {
                    requests.add(request(text));
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(name + " line " + number + ": " + e.getMessage(), e);
                }
            }
            if (c < 0) {
                break;
            }
        }
        if (requests.isEmpty()) {
            throw new IllegalArgumentException(name + " holds no request");
        }
        return new Workload(name, 1, TOKENS_PER_HASH, requests);
    }

    /** The request of one record. */
    static TraceRequest request(String line) {
        var record = new Record(line);
        record.parse();
        if (record.hashIds == null) {
            throw new IllegalArgumentException("no hash_ids");
        }
        int[] ids = record.hashIds;
        long promptTokens = (long) ids.length * TOKENS_PER_HASH;
        if (record.inputLength >= 0) {
            if (record.inputLength <= promptTokens - TOKENS_PER_HASH || record.inputLength > promptTokens) {
                throw new IllegalArgumentException("input_length " + record.inputLength + " does not fit "
                        + ids.length + " hash ids of " + TOKENS_PER_HASH + " tokens");
            }
            promptTokens = record.inputLength;
        }
        return new TraceRequest(ids, new int[0], (int) Math.min(Integer.MAX_VALUE, promptTokens));
    }

    /** The {@code hash_ids} array of one record. */
    static int[] hashIds(String line) {
        return request(line).prompt();
    }

    /** A flat JSON object: numbers, strings, literals and arrays of numbers; the fields a request needs. */
    private static final class Record {
        private final String text;
        private int at;
        int[] hashIds;
        long inputLength = -1;

        Record(String text) {
            this.text = text;
        }

        void parse() {
            skipSpace();
            expect('{', "a JSON object");
            skipSpace();
            if (peek() == '}') {
                at++;
            } else {
                while (true) {
                    String key = string();
                    skipSpace();
                    expect(':', "':' after \"" + key + "\"");
                    skipSpace();
                    value(key);
                    skipSpace();
                    if (peek() == ',') {
                        at++;
                        skipSpace();
                        continue;
                    }
                    expect('}', "',' or '}'");
                    break;
                }
            }
            skipSpace();
            if (at < text.length()) {
                throw new IllegalArgumentException("text after the object at column " + (at + 1));
            }
        }

        private void value(String key) {
            switch (key) {
                case "hash_ids" -> hashIds = ids();
                case "input_length" -> inputLength = integer(key);
                case "output_length", "timestamp" -> integer(key);
                default -> skipValue(key);
            }
        }

        private int[] ids() {
            if (peek() != '[') {
                throw new IllegalArgumentException("hash_ids is not an array");
            }
            at++;
            int[] ids = new int[16];
            int count = 0;
            skipSpace();
            if (peek() == ']') {
                throw new IllegalArgumentException("hash_ids is empty");
            }
            while (true) {
                skipSpace();
                long id = integer("hash id " + (count + 1));
                if (id > Integer.MAX_VALUE) {
                    throw new IllegalArgumentException("hash id " + id + " is not an int");
                }
                if (count == ids.length) {
                    ids = Arrays.copyOf(ids, count * 2);
                }
                ids[count++] = (int) id;
                skipSpace();
                if (peek() == ',') {
                    at++;
                    continue;
                }
                expect(']', "',' or ']' in hash_ids");
                return Arrays.copyOf(ids, count);
            }
        }

        /** A non-negative integer (a fraction such as a timestamp's is allowed and dropped). */
        private long integer(String what) {
            int start = at;
            if (peek() == '-') {
                throw new IllegalArgumentException(what + " is negative at column " + (at + 1));
            }
            while (at < text.length() && Character.isDigit(text.charAt(at))) {
                at++;
            }
            int digits = at - start;
            if (digits == 0) {
                throw new IllegalArgumentException(what + " is not a number at column " + (start + 1));
            }
            if (digits > 18) {
                throw new IllegalArgumentException(what + " " + text.substring(start, at) + " is too large");
            }
            long value = Long.parseLong(text, start, at, 10);
            if (peek() == '.' || peek() == 'e' || peek() == 'E') {
                at++;
                while (at < text.length() && "0123456789+-eE".indexOf(text.charAt(at)) >= 0) {
                    at++;
                }
            }
            return value;
        }

        private void skipValue(String key) {
            char c = peek();
            if (c == '"') {
                string();
            } else if (c == '[') {
                at++;
                skipSpace();
                while (peek() != ']') {
                    skipScalar(key);
                    skipSpace();
                    if (peek() == ',') {
                        at++;
                        skipSpace();
                    } else if (peek() != ']') {
                        throw new IllegalArgumentException("',' or ']' expected in " + key + " at column "
                                + (at + 1));
                    }
                }
                at++;
            } else {
                skipScalar(key);
            }
        }

        private void skipScalar(String key) {
            int start = at;
            while (at < text.length() && "0123456789+-.eEtruefalsn".indexOf(text.charAt(at)) >= 0) {
                at++;
            }
            if (at == start) {
                throw new IllegalArgumentException(key + " has an unsupported value at column " + (start + 1));
            }
        }

        private String string() {
            expect('"', "a quoted key");
            int start = at;
            while (at < text.length() && text.charAt(at) != '"') {
                if (text.charAt(at) == '\\') {
                    at++;
                }
                at++;
            }
            if (at >= text.length()) {
                throw new IllegalArgumentException("unterminated string from column " + start);
            }
            return text.substring(start, at++);
        }

        private void skipSpace() {
            while (at < text.length() && Character.isWhitespace(text.charAt(at))) {
                at++;
            }
        }

        private char peek() {
            return at < text.length() ? text.charAt(at) : '\0';
        }

        private void expect(char c, String what) {
            if (peek() != c) {
                throw new IllegalArgumentException("expected " + what + " at column " + (at + 1)
                        + (at < text.length() ? ", found '" + text.charAt(at) + "'" : ", found the end of the line"));
            }
            at++;
        }
    }
}
