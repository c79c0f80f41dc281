package dev.ultrakv.server;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.ultrakv.GeneratedToken;
import dev.ultrakv.Request;
import dev.ultrakv.RequestResult;
import dev.ultrakv.UltraAdaptiveKVCacheEngine;
import dev.ultrakv.model.StopReason;
import dev.ultrakv.sampling.TokenLogprob;
import io.javalin.http.Context;
import io.javalin.http.sse.SseClient;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeoutException;

/**
 * Answers {@code /v1/completions} and {@code /v1/chat/completions}: runs the request on the engine and writes
 * the whole answer, or streams it as Server-Sent Events framed as OpenAI frames them ({@code data: {json}}
 * then a blank line per chunk, {@code data: [DONE]} last, no {@code event:} or {@code id:} lines).
 *
 * <h2>Streaming</h2>
 * Javalin's {@link SseClient#sendData} writes exactly that framing. The engine's delivery thread puts each
 * token on a queue; the request's virtual thread takes them and writes one chunk each. When a write fails the
 * client has gone: the request's future is cancelled, which stops it and frees its KV blocks before the
 * engine's next step.
 */
final class CompletionHandler {
    private static final System.Logger LOG = System.getLogger(CompletionHandler.class.getName());

    private final ObjectMapper json;
    private final UltraAdaptiveKVCacheEngine engine;
    private final String modelName;
    private final CompletionRequests requests;
    private final ServerMetrics metrics;

    /** The end of a request's stream: its result or its failure. */
    private record Done(RequestResult result, Throwable failure) {
    }

    CompletionHandler(ObjectMapper json, UltraAdaptiveKVCacheEngine engine, String modelName,
                      CompletionRequests requests, ServerMetrics metrics) {
        this.json = json;
        this.engine = engine;
        this.modelName = modelName;
        this.requests = requests;
        this.metrics = metrics;
    }

    /** Answers one request to the {@code kind} endpoint. */
    void handle(Context ctx, CompletionRequests.Kind kind) {
        long start = System.nanoTime();
        String id = (kind == CompletionRequests.Kind.CHAT ? "chatcmpl-" : "cmpl-") + UltraKvServer.newId();
        ctx.header("X-Request-Id", id);
        String endpoint = kind == CompletionRequests.Kind.CHAT ? "chat_completions" : "completions";
        metrics.started();
        String outcome = "failed";
        try {
            CompletionRequests.Parsed parsed = requests.parse(kind, ctx.bodyAsBytes(), id);
            outcome = parsed.stream() ? stream(ctx, parsed, start) : complete(ctx, parsed, start);
        } catch (ApiError e) {
            outcome = e.status() == 429 ? "rejected" : e.status() < 500 ? "client_error" : "failed";
            throw e;
        } finally {
            metrics.ended(endpoint, outcome);
        }
    }

    private String complete(Context ctx, CompletionRequests.Parsed parsed, long start) {
        long[] firstToken = {-1};
        long[] lastToken = {-1};
        CompletableFuture<RequestResult> future = engine.processRequest(parsed.request(), token -> {
            long now = System.nanoTime() - start;
            if (firstToken[0] < 0) {
                firstToken[0] = now;
            }
            lastToken[0] = now;
        });
        RequestResult result;
        try {
            result = future.get();
        } catch (InterruptedException e) {
            future.cancel(true);
            Thread.currentThread().interrupt();
            return "cancelled";
        } catch (ExecutionException e) {
            throw failure(parsed.request(), e.getCause());
        }
        ObjectNode body = envelope(parsed, parsed.kind() == CompletionRequests.Kind.CHAT ? "chat.completion"
                : "text_completion");
        ObjectNode choice = body.putArray("choices").addObject();
        choice.put("index", 0);
        if (parsed.kind() == CompletionRequests.Kind.CHAT) {
            ObjectNode message = choice.putObject("message");
            message.put("role", "assistant");
            message.put("content", result.text());
        } else {
            choice.put("text", result.text());
        }
        if (parsed.request().logprobs() == Request.NO_LOGPROBS) {
            choice.putNull("logprobs");
        } else {
            choice.set("logprobs", logprobs(parsed, result.logprobs(), 0));
        }
        choice.put("finish_reason", finishReason(result.stopReason()));
        body.set("usage", usage(result));
        ctx.contentType("application/json").result(body.toString());
        served(parsed.request(), result, firstToken[0], lastToken[0], System.nanoTime() - start);
        return "ok";
    }

    private String stream(Context ctx, CompletionRequests.Parsed parsed, long start) {
        BlockingQueue<Object> events = new LinkedBlockingQueue<>();
        CompletableFuture<RequestResult> future = engine.processRequest(parsed.request(), events::add);
        future.whenComplete((result, failure) -> events.add(new Done(result, failure)));
        if (future.isCompletedExceptionally()) {
            // Refused before it ran (a bad request, a full queue): an HTTP error, not a stream.
            try {
                future.join();
            } catch (CompletionException | CancellationException e) {
                throw failure(parsed.request(), e instanceof CompletionException ? e.getCause() : e);
            }
        }
        boolean chat = parsed.kind() == CompletionRequests.Kind.CHAT;
        ctx.status(200);
        ctx.res().setCharacterEncoding("UTF-8");
        ctx.res().setContentType("text/event-stream");
        ctx.res().setHeader("Cache-Control", "no-cache");
        ctx.res().setHeader("X-Accel-Buffering", "no");
        SseClient client = new SseClient(ctx);
        if (chat) {
            ObjectNode delta = json.createObjectNode().put("role", "assistant").put("content", "");
            if (!send(client, chunk(parsed, delta, null))) {
                return cancel(future, parsed.request());
            }
        }
        StringBuilder streamed = new StringBuilder();
        long firstToken = -1;
        long lastToken = -1;
        while (true) {
            Object event;
            try {
                event = events.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return cancel(future, parsed.request());
            }
            if (event instanceof GeneratedToken token) {
                long now = System.nanoTime() - start;
                firstToken = firstToken < 0 ? now : firstToken;
                lastToken = now;
                if (!token.text().isEmpty() || token.logprob() != null) {
                    ObjectNode chunk = chunk(parsed, text(chat, token.text()), null);
                    if (token.logprob() != null) {
                        ((ObjectNode) chunk.get("choices").get(0)).set("logprobs",
                                logprobs(parsed, List.of(token.logprob()), streamed.length()));
                    }
                    streamed.append(token.text());
                    if (!send(client, chunk)) {
                        return cancel(future, parsed.request());
                    }
                }
                continue;
            }
            Done done = (Done) event;
            if (done.failure() != null) {
                ApiError error = failure(parsed.request(), done.failure());
                ObjectNode body = json.createObjectNode();
                ObjectNode detail = body.putObject("error");
                detail.put("message", error.getMessage());
                detail.put("type", error.type());
                detail.putNull("param");
                detail.put("code", error.code());
                send(client, body.toString());
                return error.status() == 408 ? "timeout" : "failed";
            }
            RequestResult result = done.result();
            String rest = result.text().startsWith(streamed.toString())
                    ? result.text().substring(streamed.length()) : "";
            ObjectNode last = chunk(parsed, rest.isEmpty() ? chat ? json.createObjectNode() : text(false, "")
                    : text(chat, rest), finishReason(result.stopReason()));
            boolean sent = send(client, last);
            if (sent && parsed.includeUsage()) {
                ObjectNode usage = envelope(parsed, chat ? "chat.completion.chunk" : "text_completion");
                usage.putArray("choices");
                usage.set("usage", usage(result));
                sent = send(client, usage);
            }
            sent = sent && send(client, "[DONE]");
            served(parsed.request(), result, firstToken, lastToken, System.nanoTime() - start);
            return sent ? "ok" : "disconnected";
        }
    }

    private String cancel(CompletableFuture<RequestResult> future, Request request) {
        future.cancel(true);
        LOG.log(System.Logger.Level.INFO, "request " + request.id() + ": the client went away; cancelled");
        return "cancelled";
    }

    /** Sends one event; false when the client has gone. */
    private static boolean send(SseClient client, Object data) {
        if (client.terminated()) {
            return false;
        }
        client.sendData(data.toString());
        return !client.terminated();
    }

    private ObjectNode envelope(CompletionRequests.Parsed parsed, String object) {
        ObjectNode body = json.createObjectNode();
        body.put("id", parsed.request().id());
        body.put("object", object);
        body.put("created", Instant.now().getEpochSecond());
        body.put("model", modelName);
        return body;
    }

    /** A stream chunk whose choice carries {@code content} (a delta for chat, a text for completions). */
    private ObjectNode chunk(CompletionRequests.Parsed parsed, ObjectNode content, String finishReason) {
        boolean chat = parsed.kind() == CompletionRequests.Kind.CHAT;
        ObjectNode chunk = envelope(parsed, chat ? "chat.completion.chunk" : "text_completion");
        ObjectNode choice = chunk.putArray("choices").addObject();
        choice.put("index", 0);
        if (chat) {
            choice.set("delta", content);
        } else {
            choice.put("text", content.path("text").asText());
        }
        choice.putNull("logprobs");
        choice.put("finish_reason", finishReason);
        if (parsed.includeUsage()) {
            chunk.putNull("usage");
        }
        return chunk;
    }

    private ObjectNode text(boolean chat, String text) {
        return json.createObjectNode().put(chat ? "content" : "text", text);
    }

    private ObjectNode usage(RequestResult result) {
        ObjectNode usage = json.createObjectNode();
        usage.put("prompt_tokens", result.promptTokens());
        usage.put("completion_tokens", result.generatedTokens());
        usage.put("total_tokens", result.promptTokens() + result.generatedTokens());
        usage.putObject("prompt_tokens_details").put("cached_tokens", result.cachedPromptTokens());
        return usage;
    }

    /**
     * Log-probabilities as OpenAI writes them: for chat, {@code content} entries with token, logprob, bytes and
     * top_logprobs; for completions, the legacy parallel arrays with {@code text_offset} from {@code offset}.
     */
    private ObjectNode logprobs(CompletionRequests.Parsed parsed, List<TokenLogprob> tokens, int offset) {
        ObjectNode node = json.createObjectNode();
        if (parsed.kind() == CompletionRequests.Kind.CHAT) {
            ArrayNode content = node.putArray("content");
            for (TokenLogprob token : tokens) {
                ObjectNode entry = entry(content.addObject(), token.token(), token.logprob());
                ArrayNode top = entry.putArray("top_logprobs");
                for (TokenLogprob.Alternative alternative : token.top()) {
                    entry(top.addObject(), alternative.token(), alternative.logprob());
                }
            }
            node.putNull("refusal");
            return node;
        }
        ArrayNode texts = node.putArray("tokens");
        ArrayNode values = node.putArray("token_logprobs");
        ArrayNode tops = node.putArray("top_logprobs");
        ArrayNode offsets = node.putArray("text_offset");
        for (TokenLogprob token : tokens) {
            texts.add(token.token());
            values.add(token.logprob());
            ObjectNode top = tops.addObject();
            for (TokenLogprob.Alternative alternative : token.top()) {
                top.put(alternative.token(), alternative.logprob());
            }
            offsets.add(offset);
            offset += token.token().length();
        }
        return node;
    }

    private static ObjectNode entry(ObjectNode entry, String token, float logprob) {
        entry.put("token", token);
        entry.put("logprob", logprob);
        ArrayNode bytes = entry.putArray("bytes");
        for (byte b : token.getBytes(StandardCharsets.UTF_8)) {
            bytes.add(b & 0xFF);
        }
        return entry;
    }

    private static String finishReason(StopReason reason) {
        // OpenAI's "stop": a natural end or a stop string; "length": max_tokens or the context.
        return reason == StopReason.END_OF_SEQUENCE || reason == StopReason.STOP_STRING ? "stop" : "length";
    }

    private void served(Request request, RequestResult result, long firstToken, long lastToken, long end) {
        metrics.served(result.promptTokens(), result.generatedTokens(), firstToken, lastToken, end);
        LOG.log(System.Logger.Level.DEBUG, () -> "request " + request.id() + ": " + result.promptTokens()
                + " prompt tokens (" + result.cachedPromptTokens() + " cached), " + result.generatedTokens()
                + " generated, " + result.stopReason() + ", " + end / 1_000_000 + " ms");
    }

    /** The HTTP error a failed request is answered with; never a stack trace. */
    private static ApiError failure(Request request, Throwable cause) {
        if (cause instanceof IllegalArgumentException e) {
            String message = e.getMessage() == null ? "the request is not valid" : e.getMessage();
            boolean length = message.contains("context") || message.contains("KV positions");
            return new ApiError(400, ApiError.INVALID_REQUEST, length ? "prompt" : null,
                    length ? "context_length_exceeded" : "invalid_value", message);
        }
        if (cause instanceof RejectedExecutionException e) {
            return new ApiError(429, "rate_limit_error", null, "queue_full", e.getMessage());
        }
        if (cause instanceof TimeoutException) {
            return new ApiError(408, "timeout_error", "timeout", "request_timeout", "request " + request.id()
                    + " did not finish within its timeout of " + request.timeout().toMillis() + " ms");
        }
        if (cause instanceof CancellationException) {
            return new ApiError(499, "server_error", null, "cancelled", "request " + request.id() + " was cancelled");
        }
        String message = cause == null || cause.getMessage() == null ? "request " + request.id() + " failed"
                : cause.getMessage();
        if (message.startsWith("engine closed")) {
            return new ApiError(503, "server_error", null, "draining", "the server is shutting down");
        }
        LOG.log(System.Logger.Level.WARNING, "request " + request.id() + " failed", cause);
        return new ApiError(500, "server_error", null, "engine_error", message);
    }
}
