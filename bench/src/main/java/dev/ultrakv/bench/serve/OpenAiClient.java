package dev.ultrakv.bench.serve;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;

import org.apache.hc.client5.http.HttpRequestRetryStrategy;
import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.classic.methods.HttpPost;
import org.apache.hc.client5.http.classic.methods.HttpUriRequestBase;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.config.RequestConfig;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManager;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.HttpEntity;
import org.apache.hc.core5.http.HttpRequest;
import org.apache.hc.core5.http.HttpResponse;
import org.apache.hc.core5.http.NoHttpResponseException;
import org.apache.hc.core5.http.io.SocketConfig;
import org.apache.hc.core5.http.io.entity.StringEntity;
import org.apache.hc.core5.http.protocol.HttpContext;
import org.apache.hc.core5.io.CloseMode;
import org.apache.hc.core5.util.TimeValue;
import org.apache.hc.core5.util.Timeout;

import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.LongSupplier;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Sends completion requests to one OpenAI-compatible server (HTTP/1.1, Apache HttpClient's blocking client) and
 * times them: each call reads its response on the calling thread until the response has ended and returns a
 * {@link RequestRecord}.
 *
 * <h2>Notes</h2>
 * <b>Streaming</b> responses are Server-Sent Events ({@code data: {json}} chunks, then {@code data: [DONE]}),
 * parsed by {@link SseParser} as the bytes arrive; a chunk counts as a token's arrival when it carries text
 * ({@code choices[0].text}, or {@code choices[0].delta.content} for chat), as vLLM's benchmark counts. Usage is
 * asked for with {@code stream_options.include_usage} and read from whichever chunk carries it.
 * <p><b>Why a blocking client.</b> A chunk's arrival is timed where it is parsed. Read on the calling thread, a
 * chunk wakes that thread and nothing else; the JDK's {@code java.net.http} client hands each one from its
 * selector thread to its executor and then to the reader, and on a machine whose cores the server keeps busy each
 * hand-over may wait for a core. Measured against {@code serve} on 2 cores (BENCHMARKS.md), that client took
 * 28 % more CPU for the same run, and the server delivered 9 % fewer tokens/s at concurrency 32 beside it.
 * Responses are read uncompressed, so that no decoder holds a chunk back.
 * <p><b>Cached tokens</b> are read from {@code usage.prompt_tokens_details.cached_tokens}, the OpenAI field. Where
 * a response has no such field but llama.cpp's {@code timings.prompt_n} (prompt tokens it evaluated), the
 * difference to {@code usage.prompt_tokens} is what it found cached: llama-server reports the cache that way.
 * <p><b>Dead pooled connections.</b> Some servers close a keep-alive connection after a streamed response
 * (llama-server does, after each); a request the client then writes on it gets no byte back. Such a request was
 * never processed, and a completion has no side effect, so it is sent again on a new connection.
 * <p><b>Bounds.</b> Every request carries the per-request timeout (to connect, for the response's headers and
 * for each read; the caller abandons one whose body runs longer, see {@link Call#abort()}), and a body larger
 * than {@value #MAX_BODY_BYTES} bytes is refused. Requests only ever go to the base URL given.
 */
public final class OpenAiClient implements AutoCloseable {
    /** No completion of a benchmark is this large; a server sending more is broken. */
    static final int MAX_BODY_BYTES = 64 << 20;
    /** Enough of an error body to show its message. */
    private static final int ERROR_BODY_BYTES = 4096;
    private static final int READ_BUFFER = 8192;
    private static final String DONE = "[DONE]";
    private static final ObjectMapper MAPPER = new ObjectMapper();
    /** Connections kept open to the server at most: more than any concurrency a benchmark runs at. */
    static final int MAX_CONNECTIONS = 4096;
    /**
     * HttpClient's retry log, which would say "recoverable I/O exception" at INFO for every resend to a server that
     * closes its connections after each stream (SLF4J reaches java.util.logging in the CLI): such a resend is
     * expected here. Held here: java.util.logging keeps loggers weakly.
     */
    private static final Logger RETRY_LOG =
            Logger.getLogger("org.apache.hc.client5.http.impl.classic.HttpRequestRetryExec");

    static {
        RETRY_LOG.setLevel(Level.WARNING);
    }

    private final URI base;
    private final String apiKey;
    private final LongSupplier clock;
    private final CloseableHttpClient http;

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
        this.clock = clock;
        Timeout limit = Timeout.of(timeout);
        PoolingHttpClientConnectionManager pool = PoolingHttpClientConnectionManagerBuilder.create()
                .setMaxConnTotal(MAX_CONNECTIONS).setMaxConnPerRoute(MAX_CONNECTIONS)
                .setDefaultSocketConfig(SocketConfig.custom().setTcpNoDelay(true).build())
                .setDefaultConnectionConfig(ConnectionConfig.custom().setConnectTimeout(limit)
                        .setSocketTimeout(limit).build())
                .build();
        this.http = HttpClients.custom()
                .setConnectionManager(pool)
                .setDefaultRequestConfig(RequestConfig.custom().setResponseTimeout(limit).build())
                .setRetryStrategy(new ResendUnanswered(pool))
                .disableRedirectHandling()
                .disableContentCompression()
                .disableCookieManagement()
                .disableAuthCaching()
                .build();
    }

    /**
     * The first model the server lists at {@code GET /v1/models}, if it answers with one. The connection is
     * closed after it: a server that closes idle connections would otherwise leave the first completion request
     * a dead pooled one (seen with llama-server).
     */
    public Optional<String> firstModel() {
        HttpGet get = authorized(new HttpGet(URI.create(base + "/v1/models")));
        get.setHeader("Connection", "close");
        try (ClassicHttpResponse response = http.executeOpen(null, get, null)) {
            HttpEntity entity = response.getEntity();
            if (response.getCode() != 200 || entity == null) {
                return Optional.empty();
            }
            try (InputStream in = entity.getContent()) {
                JsonNode id = MAPPER.readTree(in.readNBytes(MAX_BODY_BYTES)).path("data").path(0).path("id");
                return id.isTextual() ? Optional.of(id.asText()) : Optional.empty();
            }
        } catch (IOException e) {
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
     * A request of {@code body} to {@code endpoint}, not sent yet: {@link Call#run()} sends it.
     *
     * @throws IllegalArgumentException if {@code endpoint} is not under the base URL
     */
    public Call call(URI endpoint, ObjectNode body, boolean stream, boolean chat) {
        if (!endpoint.toString().startsWith(base + "/")) {
            throw new IllegalArgumentException(endpoint + " is not under " + base);
        }
        HttpPost post = authorized(new HttpPost(endpoint));
        post.setHeader("Accept", stream ? "text/event-stream" : "application/json");
        post.setEntity(new StringEntity(body.toString(), ContentType.APPLICATION_JSON));
        return new Call(post, stream, chat);
    }

    /** Closes the pooled connections. */
    @Override
    public void close() {
        http.close(CloseMode.IMMEDIATE);
    }

    /** One request: sent and read by {@link #run()} on the caller's thread, abandoned by {@link #abort()}. */
    public final class Call {
        private final HttpPost post;
        private final boolean stream;
        private final boolean chat;

        private Call(HttpPost post, boolean stream, boolean chat) {
            this.post = post;
            this.stream = stream;
            this.chat = chat;
        }

        /**
         * Sends the request, reads the whole response and times it. Never throws for the server's or the
         * network's failures: they are the record's error. An {@link #abort()} ends it with a {@code connection}
         * error that the aborting caller replaces.
         */
        public RequestRecord run() {
            long sent = clock.getAsLong();
            try (ClassicHttpResponse response = http.executeOpen(null, post, null)) {
                HttpEntity entity = response.getEntity();
                try (InputStream in = entity == null ? InputStream.nullInputStream() : entity.getContent()) {
                    if (response.getCode() != 200) {
                        String detail = new String(in.readNBytes(ERROR_BODY_BYTES), StandardCharsets.UTF_8);
                        return RequestRecord.failed(sent, clock.getAsLong(), Integer.toString(response.getCode()),
                                detail);
                    }
                    return stream ? readStream(in, sent, chat) : readWhole(in, sent, chat);
                }
            } catch (SocketTimeoutException e) {
                return RequestRecord.failed(sent, clock.getAsLong(), ErrorKind.TIMEOUT.key(), e.toString());
            } catch (JsonProcessingException e) {
                return RequestRecord.failed(sent, clock.getAsLong(), ErrorKind.PROTOCOL.key(), e.getOriginalMessage());
            } catch (IOException e) {
                return RequestRecord.failed(sent, clock.getAsLong(), ErrorKind.CONNECTION.key(), e.toString());
            }
        }

        /** Abandons the request from another thread: its connection is closed and {@link #run()} returns. */
        public void abort() {
            post.cancel();
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

    private <T extends HttpUriRequestBase> T authorized(T request) {
        if (apiKey != null) {
            request.setHeader("Authorization", "Bearer " + apiKey);
        }
        return request;
    }

    /**
     * Sends a request again when the server answered it with nothing at all (a pooled connection it had closed, or
     * one reset before any byte of a response): nothing was processed. A blocking client cannot see that an idle
     * pooled connection was closed, and a server that closes each one after its stream leaves all of them dead,
     * so the idle ones are closed before the request goes out again on a new connection; a connection released
     * between that and the resend may be dead as well, hence {@value #RESENDS} resends. A timeout, a refused
     * connection or any response is final.
     */
    private static final class ResendUnanswered implements HttpRequestRetryStrategy {
        static final int RESENDS = 3;
        private final PoolingHttpClientConnectionManager pool;

        ResendUnanswered(PoolingHttpClientConnectionManager pool) {
            this.pool = pool;
        }

        @Override
        public boolean retryRequest(HttpRequest request, IOException exception, int execCount, HttpContext context) {
            boolean unanswered = exception instanceof NoHttpResponseException
                    || exception instanceof SocketException && !(exception instanceof ConnectException);
            if (!unanswered || execCount > RESENDS) {
                return false;
            }
            pool.closeIdle(TimeValue.ZERO_MILLISECONDS);
            return true;
        }

        @Override
        public boolean retryRequest(HttpResponse response, int execCount, HttpContext context) {
            return false;
        }

        @Override
        public TimeValue getRetryInterval(HttpResponse response, int execCount, HttpContext context) {
            return TimeValue.ZERO_MILLISECONDS;
        }
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
