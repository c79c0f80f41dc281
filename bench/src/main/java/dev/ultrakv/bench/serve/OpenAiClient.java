package dev.ultrakv.bench.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.LongSupplier;

/**
 * Sends completion requests to one OpenAI-compatible server ({@code java.net.http}, HTTP/1.1) and times them:
 * each call blocks its (virtual) thread until the response has ended and returns a {@link RequestRecord}.
 *
 * <h2>Notes</h2>
 * <b>Streaming</b> responses are Server-Sent Events ({@code data: {json}} chunks, then {@code data: [DONE]}),
 * parsed by {@link SseParser} as the bytes arrive; a chunk counts as a token's arrival when it carries text
 * ({@code choices[0].text}, or {@code choices[0].delta.content} for chat), as vLLM's benchmark counts. Usage is
 * asked for with {@code stream_options.include_usage} and read from whichever chunk carries it.
 * <p><b>Cached tokens</b> are read from {@code usage.prompt_tokens_details.cached_tokens}, the OpenAI field. Where
 * a response has no such field but llama.cpp's {@code timings.prompt_n} (prompt tokens it evaluated), the
 * difference to {@code usage.prompt_tokens} is what it found cached: llama-server reports the cache that way.
 * <p><b>Dead pooled connections.</b> Some servers close a keep-alive connection after a streamed response
 * (llama-server does, after each); a request the client then writes on it gets no byte back. Such a request was
 * never processed, and a completion has no side effect, so it is sent again on a new connection: the JDK does
 * this for non-idempotent methods when {@code jdk.httpclient.enableAllMethodRetry} is set, which this class sets
 * when it is first loaded unless it is set already (it must be set before the JDK's HTTP client first runs).
 * <p><b>Bounds.</b> Every request carries the per-request timeout (up to the response's headers; the caller
 * cancels one whose body runs longer), and a body larger than {@value #MAX_BODY_BYTES} bytes is refused.
 * Requests only ever go to the base URL given.
 */
public final class OpenAiClient {
    /** No completion of a benchmark is this large; a server sending more is broken. */
    static final int MAX_BODY_BYTES = 64 << 20;
    /** Enough of an error body to show its message. */
    private static final int ERROR_BODY_BYTES = 4096;
    private static final int READ_BUFFER = 8192;
    private static final String DONE = "[DONE]";
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** The JDK's switch to retry a request of any method that met a connection closed before its response. */
    static final String RETRY_PROPERTY = "jdk.httpclient.enableAllMethodRetry";

    static {
        if (System.getProperty(RETRY_PROPERTY) == null) {
            System.setProperty(RETRY_PROPERTY, "true");
        }
    }

    private final URI base;
    private final String apiKey;
    private final Duration timeout;
    private final LongSupplier clock;
    private final HttpClient http;

    /**
     * A client of the server at {@code base}.
     *
     * @param base    the server's base URL, without {@code /v1}
     * @param apiKey  sent as a bearer token, or null
     * @param timeout the per-request timeout
     * @param clock   the monotonic clock of the timings, in nanoseconds ({@code System::nanoTime})
     */
    public OpenAiClient(URI base, String apiKey, Duration timeout, LongSupplier clock) {
        this.base = base;
        this.apiKey = apiKey;
        this.timeout = timeout;
        this.clock = clock;
        this.http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NEVER).build();
    }

    /**
     * The first model the server lists at {@code GET /v1/models}, if it answers with one. The request goes over
     * a connection of its own, closed after it: a server that closes idle connections would otherwise leave the
     * first completion request a dead pooled one (seen with llama-server).
     */
    public Optional<String> firstModel() {
        try (HttpClient probe = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NEVER).build()) {
            HttpResponse<String> response = probe.send(authorized(HttpRequest.newBuilder(
                    URI.create(base + "/v1/models"))).timeout(timeout).GET().build(),
                    HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() != 200) {
                return Optional.empty();
            }
            JsonNode id = MAPPER.readTree(response.body()).path("data").path(0).path("id");
            return id.isTextual() ? Optional.of(id.asText()) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    /**
     * The body of turn {@code turn} of {@code conversation}.
     *
     * @param answers the answers to the earlier turns
     * @param model   the model name, or null to leave it out
     */
    static ObjectNode body(ServeSettings settings, String model, Conversation conversation, int turn,
                           List<String> answers) {
        ObjectNode body = MAPPER.createObjectNode();
        if (model != null) {
            body.put("model", model);
        }
        if (settings.chat()) {
            body.set("messages", MAPPER.valueToTree(conversation.chatMessages(turn, answers)));
        } else {
            body.put("prompt", conversation.completionPrompt(turn, answers));
        }
        body.put("max_tokens", settings.maxTokens());
        body.put("temperature", settings.temperature());
        body.put("stream", settings.stream());
        if (settings.stream()) {
            body.putObject("stream_options").put("include_usage", true);
        }
        if (settings.ignoreEos()) {
            body.put("ignore_eos", true);
        }
        return body;
    }

    /**
     * Posts {@code body} to {@code endpoint}, reads the whole response and times it. Never throws for the
     * server's or the network's failures: they are the record's error. An interrupt (the caller's timeout) ends it
     * with a {@code connection} error that the caller replaces.
     *
     * @throws IllegalArgumentException if {@code endpoint} is not under the base URL
     */
    public RequestRecord send(URI endpoint, ObjectNode body, boolean stream, boolean chat) {
        if (!endpoint.toString().startsWith(base + "/")) {
            throw new IllegalArgumentException(endpoint + " is not under " + base);
        }
        HttpRequest request = authorized(HttpRequest.newBuilder(endpoint))
                .timeout(timeout).header("Content-Type", "application/json")
                .header("Accept", stream ? "text/event-stream" : "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body.toString(), StandardCharsets.UTF_8)).build();
        long sent = clock.getAsLong();
        try {
            HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            try (InputStream in = response.body()) {
                if (response.statusCode() != 200) {
                    String detail = new String(in.readNBytes(ERROR_BODY_BYTES), StandardCharsets.UTF_8);
                    return RequestRecord.failed(sent, clock.getAsLong(), Integer.toString(response.statusCode()),
                            detail);
                }
                return stream ? readStream(in, sent, chat) : readWhole(in, sent, chat);
            }
        } catch (HttpTimeoutException e) {
            return RequestRecord.failed(sent, clock.getAsLong(), ErrorKind.TIMEOUT.key(), e.toString());
        } catch (JsonProcessingException e) {
            return RequestRecord.failed(sent, clock.getAsLong(), ErrorKind.PROTOCOL.key(), e.getOriginalMessage());
        } catch (IOException e) {
            return RequestRecord.failed(sent, clock.getAsLong(), ErrorKind.CONNECTION.key(), e.toString());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return RequestRecord.failed(sent, clock.getAsLong(), ErrorKind.CONNECTION.key(), "interrupted");
        }
    }

    private RequestRecord readStream(InputStream in, long sent, boolean chat) throws IOException {
        var state = new StreamState(chat);
        var parser = new SseParser(state::accept);
        byte[] buffer = new byte[READ_BUFFER];
        long total = 0;
        for (int n; (n = in.read(buffer)) >= 0; ) {
            total += n;
            if (total > MAX_BODY_BYTES) {
                return RequestRecord.failed(sent, clock.getAsLong(), ErrorKind.PROTOCOL.key(), "body over "
                        + MAX_BODY_BYTES + " bytes");
            }
            parser.feed(buffer, 0, n);
        }
        long end = clock.getAsLong();
        if (state.error != null) {
            return RequestRecord.failed(sent, end, ErrorKind.PROTOCOL.key(), state.error);
        }
        if (!state.done) {
            return RequestRecord.failed(sent, end, ErrorKind.INCOMPLETE.key(), "the stream ended before [DONE]");
        }
        long[] chunks = state.chunks.stream().mapToLong(Long::longValue).toArray();
        int output = state.usage.completionTokens >= 0 ? state.usage.completionTokens : chunks.length;
        return new RequestRecord(sent, chunks, end, Math.max(0, state.usage.promptTokens), output,
                state.usage.cachedTokens(), null, state.text.toString());
    }

    private RequestRecord readWhole(InputStream in, long sent, boolean chat) throws IOException {
        byte[] bytes = in.readNBytes(MAX_BODY_BYTES + 1);
        long end = clock.getAsLong();
        if (bytes.length > MAX_BODY_BYTES) {
            return RequestRecord.failed(sent, end, ErrorKind.PROTOCOL.key(), "body over " + MAX_BODY_BYTES
                    + " bytes");
        }
        JsonNode response = MAPPER.readTree(bytes);
        if (response == null || !response.path("choices").isArray()) {
            return RequestRecord.failed(sent, end, ErrorKind.PROTOCOL.key(), "no choices in the response");
        }
        var usage = new Usage();
        usage.read(response);
        JsonNode choice = response.path("choices").path(0);
        String text = (chat ? choice.path("message").path("content") : choice.path("text")).asText("");
        return new RequestRecord(sent, new long[0], end, Math.max(0, usage.promptTokens),
                Math.max(0, usage.completionTokens), usage.cachedTokens(), null, text);
    }

    private HttpRequest.Builder authorized(HttpRequest.Builder builder) {
        return apiKey == null ? builder : builder.header("Authorization", "Bearer " + apiKey);
    }

    /** The usage figures of a response, -1 where absent. */
    private static final class Usage {
        int promptTokens = -1;
        int completionTokens = -1;
        int cachedTokens = -1;
        int evaluatedTokens = -1;

        void read(JsonNode response) {
            JsonNode usage = response.path("usage");
            if (usage.isObject()) {
                promptTokens = usage.path("prompt_tokens").asInt(-1);
                completionTokens = usage.path("completion_tokens").asInt(-1);
                cachedTokens = usage.path("prompt_tokens_details").path("cached_tokens").asInt(-1);
            }
            JsonNode timings = response.path("timings");
            if (timings.isObject()) {
                evaluatedTokens = timings.path("prompt_n").asInt(-1);
            }
        }

        int cachedTokens() {
            if (cachedTokens >= 0) {
                return cachedTokens;
            }
            return promptTokens >= 0 && evaluatedTokens >= 0 ? Math.max(0, promptTokens - evaluatedTokens) : -1;
        }
    }

    /** What the events of one stream have said so far. */
    private final class StreamState {
        final boolean chat;
        final List<Long> chunks = new ArrayList<>();
        final StringBuilder text = new StringBuilder();
        final Usage usage = new Usage();
        boolean done;
        /** What was wrong with the stream (a chunk that is not JSON, an error object), or null. */
        String error;

        StreamState(boolean chat) {
            this.chat = chat;
        }

        void accept(SseEvent event) {
            long now = clock.getAsLong();
            if (done || error != null) {
                return;
            }
            if (event.data().equals(DONE)) {
                done = true;
                return;
            }
            JsonNode chunk;
            try {
                chunk = MAPPER.readTree(event.data());
            } catch (JsonProcessingException e) {
                error = "a chunk is not JSON: " + e.getOriginalMessage();
                return;
            }
            if (chunk == null || !chunk.isObject() || chunk.has("error")) {
                error = "the stream carried " + event.data();
                return;
            }
            JsonNode choice = chunk.path("choices").path(0);
            String piece = (chat ? choice.path("delta").path("content") : choice.path("text")).asText("");
            if (!piece.isEmpty()) {
                chunks.add(now);
                text.append(piece);
            }
            if (chunk.path("usage").isObject() || chunk.path("timings").isObject()) {
                var latest = new Usage();
                latest.read(chunk);
                merge(latest);
            }
        }

        private void merge(Usage latest) {
            usage.promptTokens = latest.promptTokens >= 0 ? latest.promptTokens : usage.promptTokens;
            usage.completionTokens = latest.completionTokens >= 0 ? latest.completionTokens
                    : usage.completionTokens;
            usage.cachedTokens = latest.cachedTokens >= 0 ? latest.cachedTokens : usage.cachedTokens;
            usage.evaluatedTokens = latest.evaluatedTokens >= 0 ? latest.evaluatedTokens : usage.evaluatedTokens;
        }
    }
}
