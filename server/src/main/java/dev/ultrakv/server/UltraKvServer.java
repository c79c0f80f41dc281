package dev.ultrakv.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ultrakv.EngineStats;
import dev.ultrakv.ModelInfo;
import dev.ultrakv.UltraAdaptiveKVCacheEngine;
import io.javalin.Javalin;
import io.javalin.compression.CompressionStrategy;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ThreadLocalRandom;
import org.eclipse.jetty.server.handler.GracefulHandler;

/**
 * An OpenAI-compatible HTTP server over one {@link UltraAdaptiveKVCacheEngine}: {@code /v1/completions},
 * {@code /v1/chat/completions} (streaming too), {@code /v1/models}, {@code /health}, {@code /tokenize},
 * {@code /detokenize}, {@code /metrics} and a page at {@code /}. docs/server.md describes every endpoint,
 * field, error and metric.
 *
 * <h2>Lifecycle</h2>
 * {@link #start} binds first and loads the engine after, so that {@code /health} answers 503 ({@code loading})
 * while the model loads, then 200. {@link #drain} stops accepting (generation endpoints and {@code /health}
 * answer 503), waits for the requests in flight up to a bound, then stops listening and closes the engine.
 *
 * <h2>Threads</h2>
 * Javalin runs each HTTP request on its own virtual thread; a streaming request's thread blocks on a queue the
 * engine's delivery thread fills, so a slow client slows only itself.
 */
public final class UltraKvServer implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(UltraKvServer.class.getName());
    /**
     * How long stopping Jetty waits for responses whose handlers have returned to be written out: the drain has
     * already waited for the handlers; this covers only their last bytes.
     */
    private static final long RESPONSE_COMPLETION_MILLIS = 5_000;
    /** Paths any client may read without the key: the page (it asks for the key) and the orchestrator's probe. */
    private static final Set<String> PUBLIC_PATHS = Set.of("/", "/health");

    /** Where the server stands. */
    enum State { LOADING, READY, DRAINING, STOPPED }

    private final ServerConfig config;
    private final ObjectMapper json = new ObjectMapper();
    private final byte[] keyDigest;
    private final long created = Instant.now().getEpochSecond();
    private final CountDownLatch stopped = new CountDownLatch(1);
    private final ServerMetrics metrics;
    private final Javalin app;
    private volatile State state = State.LOADING;
    private volatile UltraAdaptiveKVCacheEngine engine;
    private volatile ModelInfo model;
    private volatile CompletionHandler completions;

    private UltraKvServer(ServerConfig config) {
        this.config = Objects.requireNonNull(config, "config");
        this.keyDigest = config.apiKey() == null ? null : sha256(config.apiKey());
        this.metrics = new ServerMetrics(() -> engine == null ? null : engine.getStats());
        this.app = Javalin.create(javalin -> {
            javalin.startup.showJavalinBanner = false;
            javalin.startup.showOldJavalinVersionWarning = false;
            javalin.concurrency.useVirtualThreads = true;
            javalin.http.maxRequestSize = config.maxBodyBytes();
            // Streams must reach the client token by token: no compression buffering them.
            javalin.http.compressionStrategy = CompressionStrategy.NONE;
            javalin.jetty.host = config.host();
            javalin.jetty.port = config.port();
            // Jetty reuses a connection's header values from a cache that by default matches them ignoring case:
            // "Bearer S3CRET" after "Bearer s3cret" on one connection would pass as the right key.
            // The drain stops Jetty itself, after the requests in flight: Jetty's own shutdown hook would cut them.
            javalin.jetty.modifyServer(jetty -> {
                jetty.setStopAtShutdown(false);
                // Stopping waits for each response to complete (its last chunk written), not only for the handler
                // to return: a stream's closing bytes must not be cut by the stop that follows the drain.
                jetty.insertHandler(new GracefulHandler());
                jetty.setStopTimeout(RESPONSE_COMPLETION_MILLIS);
            });
            javalin.jetty.modifyHttpConfiguration(http -> http.setHeaderCacheCaseSensitive(true));
            javalin.routes.before(this::guard);
            javalin.routes.get("/", this::page);
            javalin.routes.get("/health", this::health);
            javalin.routes.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4; charset=utf-8")
                    .result(metrics.scrape()));
            javalin.routes.get("/v1/models", this::models);
            javalin.routes.get("/v1/models/{model}", this::modelById);
            javalin.routes.post("/v1/completions", ctx -> completions().handle(ctx, CompletionRequests.Kind.TEXT));
            javalin.routes.post("/v1/chat/completions",
                    ctx -> completions().handle(ctx, CompletionRequests.Kind.CHAT));
            javalin.routes.post("/tokenize", this::tokenize);
            javalin.routes.post("/detokenize", this::detokenize);
            javalin.routes.get("/api/cache", this::cacheView);
            javalin.routes.exception(ApiError.class, (e, ctx) -> writeError(ctx, e));
            javalin.routes.exception(HttpResponseException.class, (e, ctx) -> writeError(ctx, httpError(ctx, e)));
            javalin.routes.exception(Exception.class, (e, ctx) -> {
                LOG.log(System.Logger.Level.ERROR, "request " + ctx.res().getHeader("X-Request-Id") + " to "
                        + ctx.path() + " failed", e);
                writeError(ctx, new ApiError(500, "server_error", null, "internal_error",
                        "internal error; the server's log has its details under request id "
                                + ctx.res().getHeader("X-Request-Id")));
            });
            javalin.routes.error(404, ctx -> {
                if (ctx.attribute("ultrakv.error") == null) {
                    writeError(ctx, new ApiError(404, ApiError.INVALID_REQUEST, null, "not_found",
                            "no route " + ctx.method() + " " + ctx.path()));
                }
            });
        });
    }

    /**
     * Binds {@code config}'s address, then loads the engine {@code engineFactory} makes; returns once it serves.
     * While it loads, {@code /health} answers 503.
     *
     * @throws IllegalStateException if the address cannot be bound
     * @throws Exception             what the factory throws (the server is then stopped)
     */
    public static UltraKvServer start(ServerConfig config, Callable<UltraAdaptiveKVCacheEngine> engineFactory)
            throws Exception {
        UltraKvServer server = new UltraKvServer(config);
        server.app.start();
        try {
            server.serve(engineFactory.call());
        } catch (Exception | Error e) {
            server.app.stop();
            server.state = State.STOPPED;
            server.stopped.countDown();
            throw e;
        }
        return server;
    }

    private void serve(UltraAdaptiveKVCacheEngine loaded) {
        ModelInfo info = loaded.modelInfo();
        EngineStats stats = loaded.getStats();
        int totalBlocks = stats.blocksUsed() + stats.blocksFree();
        long cachePositions = (long) (totalBlocks - 1) * loaded.config().blockSize();
        int positionLimit = (int) Math.min(info.contextLength(), cachePositions);
        ChatPrompt chat = new ChatPrompt(loaded.chatFormat());
        Set<String> names = new LinkedHashSet<>();
        names.add(info.name());
        names.add(info.id());
        CompletionRequests requests = new CompletionRequests(json, names, chat,
                text -> loaded.tokenizePrompt(text).length, positionLimit);
        this.model = info;
        this.engine = loaded;
        this.completions = new CompletionHandler(json, loaded, info.name(), requests, metrics);
        state = State.READY;
        LOG.log(System.Logger.Level.INFO, "serving " + info.name() + " on " + baseUrl());
    }

    /** The port the server listens on (the one chosen when the configuration asked for 0). */
    public int port() {
        return app.port();
    }

    /** {@code http://host:port}. */
    public String baseUrl() {
        String host = config.host().contains(":") && !config.host().startsWith("[") ? "[" + config.host() + "]"
                : config.host();
        return "http://" + host + ":" + port();
    }

    /** The engine served (null while it loads). */
    public UltraAdaptiveKVCacheEngine engine() {
        return engine;
    }

    /** The configuration. */
    public ServerConfig config() {
        return config;
    }

    /**
     * Stops accepting generation requests (503, and {@code /health} 503), waits up to {@code timeout} for those
     * in flight to finish, then stops listening and closes the engine (which fails whatever still runs).
     * Idempotent; a second call waits for the first.
     *
     * @return whether every request in flight finished within the timeout
     */
    public boolean drain(Duration timeout) {
        synchronized (this) {
            if (state == State.DRAINING || state == State.STOPPED) {
                awaitStopped();
                return true;
            }
            state = State.DRAINING;
        }
        LOG.log(System.Logger.Level.INFO, "draining: " + metrics.inFlight() + " requests in flight, waiting up to "
                + timeout.toMillis() + " ms");
        long deadline = System.nanoTime() + timeout.toNanos();
        boolean finished;
        while (!(finished = metrics.inFlight() == 0) && System.nanoTime() < deadline) {
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
        }
        app.stop();
        UltraAdaptiveKVCacheEngine served = engine;
        if (served != null) {
            served.close();
        }
        state = State.STOPPED;
        stopped.countDown();
        LOG.log(System.Logger.Level.INFO, finished ? "drained: stopped" : "drain timed out: stopped with "
                + metrics.inFlight() + " requests in flight");
        return finished;
    }

    /** Waits until the server has stopped. */
    public void awaitStopped() {
        try {
            stopped.await();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Drains with the configured timeout. */
    @Override
    public void close() {
        drain(config.drainTimeout());
    }

    private CompletionHandler completions() {
        CompletionHandler handler = completions;
        if (state != State.READY || handler == null) {
            throw unavailable();
        }
        return handler;
    }

    private ApiError unavailable() {
        return state == State.LOADING
                ? new ApiError(503, "server_error", null, "loading", "the model is loading; retry shortly")
                : new ApiError(503, "server_error", null, "draining", "the server is shutting down");
    }

    /** Javalin's own refusals (no route, a body past its limit) in OpenAI's shape. */
    private ApiError httpError(Context ctx, HttpResponseException e) {
        return switch (e.getStatus()) {
            case 404, 405 -> new ApiError(404, ApiError.INVALID_REQUEST, null, "not_found",
                    "no route " + ctx.method() + " " + ctx.path());
            case 413 -> new ApiError(413, ApiError.INVALID_REQUEST, null, "request_too_large",
                    "the body is larger than the limit of " + config.maxBodyBytes() + " bytes");
            default -> new ApiError(e.getStatus(), e.getStatus() < 500 ? ApiError.INVALID_REQUEST : "server_error",
                    null, null, e.getMessage());
        };
    }

    /** Gives every request an id, checks the key and the body's declared size. */
    private void guard(Context ctx) {
        ctx.header("X-Request-Id", "req-" + newId());
        if (keyDigest != null && !PUBLIC_PATHS.contains(ctx.path())) {
            String header = ctx.header("Authorization");
            String given = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7)
                    ? header.substring(7).trim() : "";
            // Digests of equal length, compared in constant time: neither the key nor its length leaks.
            if (!MessageDigest.isEqual(sha256(given), keyDigest)) {
                throw new ApiError(401, ApiError.INVALID_REQUEST, null, "invalid_api_key", header == null
                        ? "an API key is required: send 'Authorization: Bearer KEY'" : "the API key is not valid");
            }
        }
        long length = ctx.req().getContentLengthLong();
        if (length > config.maxBodyBytes()) {
            throw new ApiError(413, ApiError.INVALID_REQUEST, null, "request_too_large",
                    "the body of " + length + " bytes is larger than the limit of " + config.maxBodyBytes()
                            + " bytes");
        }
    }

    /** 24 random hex digits. */
    static String newId() {
        byte[] bytes = new byte[12];
        ThreadLocalRandom.current().nextBytes(bytes);
        return HexFormat.of().formatHex(bytes);
    }

    private static byte[] sha256(String text) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }

    private void writeError(Context ctx, ApiError e) {
        ObjectNode body = json.createObjectNode();
        ObjectNode error = body.putObject("error");
        error.put("message", e.getMessage());
        error.put("type", e.type());
        error.put("param", e.param());
        error.put("code", e.code());
        if (e.status() == 429) {
            ctx.header("Retry-After", "1");
        }
        ctx.attribute("ultrakv.error", Boolean.TRUE);
        ctx.status(e.status()).contentType("application/json").result(body.toString());
        if (e.status() >= 500 || e.status() == 429 || e.status() == 401) {
            LOG.log(System.Logger.Level.INFO, "request " + ctx.res().getHeader("X-Request-Id") + " "
                    + ctx.path() + ": " + e.status() + " " + e.getMessage());
        }
    }

    private void page(Context ctx) throws IOException {
        try (InputStream in = UltraKvServer.class.getResourceAsStream("index.html")) {
            if (in == null) {
                throw new UncheckedIOException(new IOException("index.html is missing from the server's jar"));
            }
            ctx.contentType("text/html; charset=utf-8").result(in.readAllBytes());
        }
    }

    private void health(Context ctx) {
        State now = state;
        String status = switch (now) {
            case READY -> "ok";
            case LOADING -> "loading";
            case DRAINING, STOPPED -> "draining";
        };
        ctx.status(now == State.READY ? 200 : 503).contentType("application/json")
                .result(json.createObjectNode().put("status", status).toString());
    }

    private ModelInfo model() {
        ModelInfo info = model;
        if (info == null || state != State.READY) {
            throw unavailable();
        }
        return info;
    }

    private ObjectNode modelEntry(ModelInfo info) {
        ObjectNode entry = json.createObjectNode();
        entry.put("id", info.name());
        entry.put("object", "model");
        entry.put("created", created);
        entry.put("owned_by", "ultrakv");
        ObjectNode meta = entry.putObject("meta");
        meta.put("source", info.id());
        meta.put("context_length", info.contextLength());
        meta.put("vocabulary_size", info.vocabularySize());
        meta.put("chat_format", info.template().isPresent() ? "template" : "plain");
        meta.put("chat_format_description", info.template().isPresent()
                ? "the model's own chat template (GGUF tokenizer.chat_template)" : ChatPrompt.PLAIN_FORMAT);
        return entry;
    }

    private void models(Context ctx) {
        ObjectNode body = json.createObjectNode();
        body.put("object", "list");
        body.putArray("data").add(modelEntry(model()));
        ctx.contentType("application/json").result(body.toString());
    }

    private void modelById(Context ctx) {
        ModelInfo info = model();
        String asked = ctx.pathParam("model");
        if (!asked.equals(info.name()) && !asked.equals(info.id())) {
            throw new ApiError(404, ApiError.INVALID_REQUEST, "model", "model_not_found",
                    "the model '" + asked + "' does not exist; this server serves '" + info.name() + "'");
        }
        ctx.contentType("application/json").result(modelEntry(info).toString());
    }

    private JsonNode body(Context ctx) {
        try {
            JsonNode node = json.readTree(ctx.bodyAsBytes());
            if (node == null || !node.isObject()) {
                throw ApiError.invalid(null, "the body must be a JSON object");
            }
            return node;
        } catch (IOException e) {
            throw ApiError.invalid(null, "the body is not valid JSON");
        }
    }

    /** llama-server's {@code POST /tokenize {content, add_special}} → {@code {tokens}}. */
    private void tokenize(Context ctx) {
        model();
        JsonNode body = body(ctx);
        JsonNode content = body.get("content");
        if (content == null || !content.isTextual()) {
            throw ApiError.invalid("content", "content must be a string");
        }
        JsonNode special = body.get("add_special");
        if (special != null && !special.isNull() && !special.isBoolean()) {
            throw ApiError.invalid("add_special", "add_special must be true or false");
        }
        // As llama-server's: special-token texts are read as tokens; add_special says whether BOS goes first.
        int[] tokens = engine.tokenize(content.asText(), special != null && special.asBoolean(), true);
        ObjectNode answer = json.createObjectNode();
        ArrayNode list = answer.putArray("tokens");
        for (int token : tokens) {
            list.add(token);
        }
        ctx.contentType("application/json").result(answer.toString());
    }

    /** llama-server's {@code POST /detokenize {tokens}} → {@code {content}}. */
    private void detokenize(Context ctx) {
        model();
        JsonNode tokens = body(ctx).get("tokens");
        if (tokens == null || !tokens.isArray()) {
            throw ApiError.invalid("tokens", "tokens must be an array of token ids");
        }
        int[] ids = new int[tokens.size()];
        for (int i = 0; i < ids.length; i++) {
            if (!tokens.get(i).isIntegralNumber() || !tokens.get(i).canConvertToInt()) {
                throw ApiError.invalid("tokens", "tokens[" + i + "] must be an integer, got " + tokens.get(i));
            }
            ids[i] = tokens.get(i).asInt();
        }
        String text;
        try {
            text = engine.detokenize(ids);
        } catch (IllegalArgumentException e) {
            throw ApiError.invalid("tokens", e.getMessage());
        }
        ctx.contentType("application/json").result(json.createObjectNode().put("content", text).toString());
    }

    /** The page's live cache view: a small JSON of the engine's state now. */
    private void cacheView(Context ctx) {
        model();
        EngineStats stats = metrics.refresh();
        ObjectNode view = json.createObjectNode();
        view.put("blocks_in_use", stats.blocksUsed());
        view.put("blocks_capacity", stats.blocksUsed() + stats.blocksFree());
        view.put("blocks_pinned", stats.pinnedBlocks());
        view.put("prompt_tokens", stats.promptTokens());
        view.put("cached_prompt_tokens", stats.cachedPromptTokens());
        view.put("token_hit_rate", stats.tokenHitRate());
        view.put("queue_depth", stats.waitingRequests());
        view.put("running_sequences", stats.runningSequences());
        view.put("evictions", stats.evictions());
        view.put("generated_tokens", metrics.generatedTokens());
        view.put("served_requests", stats.totalRequests());
        ctx.contentType("application/json").result(view.toString());
    }
}
