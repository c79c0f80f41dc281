package dev.ultrakv.server;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ultrakv.Priority;
import dev.ultrakv.Request;
import dev.ultrakv.chat.ChatMessage;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.ToIntFunction;

/**
 * The one place where an OpenAI request body becomes an engine {@link Request}: every field the server reads,
 * checks, maps or refuses is here, so that a field the engine learns is added in one class.
 *
 * <h2>Fields</h2>
 * <ul>
 *   <li>{@code prompt} (completions: a string, or an array of one string); {@code messages} (chat: roles
 *       {@code system}, {@code developer} (written as {@code system}), {@code user}, {@code assistant}; content a
 *       string or an array of {@code {"type": "text", "text"}} parts), rendered by {@link ChatPrompt};</li>
 *   <li>{@code model}: optional; when given it must name the served model (its name or id), else 404;</li>
 *   <li>{@code max_tokens} / {@code max_completion_tokens}: new tokens, at least 1. Absent: 16 for
 *       completions (OpenAI's default), and for chat as many as the context and the cache leave;</li>
 *   <li>{@code temperature} 0 to 2 (absent: 1, as OpenAI; 0 is greedy), {@code seed} (absent: a random one);</li>
 *   <li>{@code stream}, {@code stream_options.include_usage};</li>
 *   <li>extensions: {@code priority} 0 (CRITICAL) to 4 (BACKGROUND), default 2; {@code timeout} in seconds,
 *       the request's deadline; {@code ignore_eos} (vLLM's and llama-server's): generate through the tokens that
 *       would end the answer, so a benchmark gets {@code max_tokens} from every request.</li>
 * </ul>
 * Sampling and output fields the engine does not honour yet are accepted only at their neutral value
 * ({@code top_p} 1, {@code stop} absent or empty, penalties 0, {@code logprobs} absent or false, {@code n} 1,
 * {@code echo} false, {@code best_of} 1, {@code logit_bias} empty, {@code suffix} absent, {@code tools}
 * absent); any other value is a 400 {@code unsupported_parameter} naming the field. Unknown fields are
 * ignored, as clients send vendor extensions.
 */
public final class CompletionRequests {
    /** OpenAI's default {@code max_tokens} for {@code /v1/completions}. */
    public static final int DEFAULT_COMPLETION_TOKENS = 16;
    /** OpenAI's default temperature. */
    public static final float DEFAULT_TEMPERATURE = 1f;
    /** OpenAI's highest temperature. */
    private static final double MAX_TEMPERATURE = 2;
    /** The bound of the presence and frequency penalties, as OpenAI's API sets it. */
    private static final double MAX_PENALTY = 2;

    private static final Set<String> ROLES = Set.of("system", "developer", "user", "assistant");

    /** Which endpoint a body was sent to. */
    public enum Kind {
        /** {@code /v1/completions}: a prompt to continue. */
        TEXT,
        /** {@code /v1/chat/completions}: messages rendered into a prompt. */
        CHAT
    }

    /**
     * A parsed request.
     *
     * @param kind         the endpoint
     * @param request      what the engine runs (its id is the response's id)
     * @param stream       whether to answer with Server-Sent Events
     * @param includeUsage whether a stream ends with a usage chunk ({@code stream_options.include_usage})
     */
    public record Parsed(Kind kind, Request request, boolean stream, boolean includeUsage) {
    }

    private final ObjectMapper json;
    private final Set<String> modelNames;
    private final ChatPrompt chat;
    private final ToIntFunction<String> promptTokens;
    private final int positionLimit;

    /**
     * A mapper for one served model.
     *
     * @param modelNames    the names a request's {@code model} may give
     * @param chat          renders chat messages
     * @param promptTokens  the tokens a prompt text takes (BOS included)
     * @param positionLimit the most positions (prompt and new tokens) one request may take: the model's context
     *                      or what the cache can give one request, whichever is smaller
     */
    public CompletionRequests(ObjectMapper json, Set<String> modelNames, ChatPrompt chat,
                              ToIntFunction<String> promptTokens, int positionLimit) {
        this.json = Objects.requireNonNull(json, "json");
        this.modelNames = Set.copyOf(modelNames);
        this.chat = Objects.requireNonNull(chat, "chat");
        this.promptTokens = Objects.requireNonNull(promptTokens, "promptTokens");
        this.positionLimit = positionLimit;
    }

    /**
     * The request in {@code body}, sent to the {@code kind} endpoint, to run as {@code id}.
     *
     * @throws ApiError a 400 naming the field for a malformed body or a bad or unsupported value, a 404 for a
     *                  model that is not served
     */
    public Parsed parse(Kind kind, byte[] body, String id) {
        JsonNode root;
        try {
            root = json.readTree(body);
        } catch (JacksonException e) {
            throw ApiError.invalid(null, "the body is not valid JSON: " + e.getOriginalMessage());
        } catch (java.io.IOException e) {
            throw ApiError.invalid(null, "the body cannot be read: " + e.getMessage());
        }
        if (root == null || !root.isObject()) {
            throw ApiError.invalid(null, "the body must be a JSON object");
        }
        checkModel(root);
        refuseUnsupported(root, kind);
        int[] tokenPrompt = kind == Kind.TEXT ? tokenPrompt(root) : null;
        String prompt = kind == Kind.CHAT ? chat.render(messages(root), true) : tokenPrompt != null ? null
                : prompt(root);
        Integer maxTokens = positiveInt(root, "max_completion_tokens");
        if (maxTokens == null) {
            maxTokens = positiveInt(root, "max_tokens");
        }
        if (maxTokens == null) {
            maxTokens = kind == Kind.TEXT ? DEFAULT_COMPLETION_TOKENS
                    : Math.max(1, positionLimit - promptTokens.applyAsInt(prompt));
        }
        double temperature = number(root, "temperature", DEFAULT_TEMPERATURE);
        if (!(temperature >= 0 && temperature <= MAX_TEMPERATURE)) {
            throw ApiError.invalid("temperature", "temperature must be between 0 and 2, got " + temperature);
        }
        JsonNode seedNode = present(root, "seed");
        long seed;
        if (seedNode == null) {
            seed = ThreadLocalRandom.current().nextLong();
        } else if (seedNode.isIntegralNumber() && seedNode.canConvertToLong()) {
            seed = seedNode.asLong();
        } else {
            throw ApiError.invalid("seed", "seed must be an integer, got " + seedNode);
        }
        int priority = Priority.NORMAL.value();
        JsonNode priorityNode = present(root, "priority");
        if (priorityNode != null) {
            if (!priorityNode.isIntegralNumber() || priorityNode.asInt() < 0 || priorityNode.asInt() > 4) {
                throw ApiError.invalid("priority", "priority must be an integer from 0 (CRITICAL) to 4"
                        + " (BACKGROUND), got " + priorityNode);
            }
            priority = priorityNode.asInt();
        }
        Duration timeout = null;
        JsonNode timeoutNode = present(root, "timeout");
        if (timeoutNode != null) {
            if (!timeoutNode.isNumber() || !(timeoutNode.asDouble() > 0) || timeoutNode.asDouble() > 1e9) {
                throw ApiError.invalid("timeout", "timeout must be a positive number of seconds, got "
                        + timeoutNode);
            }
            timeout = Duration.ofNanos((long) (timeoutNode.asDouble() * 1e9));
        }
        boolean stream = bool(root, "stream", false);
        boolean includeUsage = false;
        JsonNode options = present(root, "stream_options");
        if (options != null) {
            if (!options.isObject()) {
                throw ApiError.invalid("stream_options", "stream_options must be an object");
            }
            includeUsage = bool(options, "include_usage", false);
        }
        Request request = Request.builder().id(id).text(prompt).promptTokens(tokenPrompt).priority(priority)
                .maxNewTokens(maxTokens).temperature((float) temperature).seed(seed).timeout(timeout)
                .topP((float) range(root, "top_p", 1, 0, 1, false)).topK(topK(root))
                .minP((float) range(root, "min_p", 0, 0, 1, true))
                .presencePenalty((float) range(root, "presence_penalty", 0, -MAX_PENALTY, MAX_PENALTY, true))
                .frequencyPenalty((float) range(root, "frequency_penalty", 0, -MAX_PENALTY, MAX_PENALTY, true))
                .stop(stops(root)).logprobs(logprobs(root, kind)).ignoreEos(bool(root, "ignore_eos", false)).build();
        return new Parsed(kind, request, stream, includeUsage);
    }

    private void checkModel(JsonNode root) {
        JsonNode model = present(root, "model");
        if (model == null) {
            return;
        }
        if (!model.isTextual()) {
            throw ApiError.invalid("model", "model must be a string");
        }
        if (!modelNames.contains(model.asText())) {
            throw new ApiError(404, ApiError.INVALID_REQUEST, "model", "model_not_found",
                    "the model '" + model.asText() + "' does not exist; this server serves " + modelNames);
        }
    }

    /** Fields the engine cannot honour yet: only their neutral values pass. */
    private static void refuseUnsupported(JsonNode root, Kind kind) {
        JsonNode n = present(root, "n");
        if (n != null && !(n.isIntegralNumber() && n.asInt() == 1)) {
            throw ApiError.unsupported("n", "n must be 1: one choice per request is served, got " + n);
        }
        JsonNode logitBias = present(root, "logit_bias");
        if (logitBias != null && !(logitBias.isObject() && logitBias.isEmpty())) {
            throw ApiError.unsupported("logit_bias", "logit_bias is not supported by this server");
        }
        if (present(root, "tools") != null && !(root.get("tools").isArray() && root.get("tools").isEmpty())) {
            throw ApiError.unsupported("tools", "tools are not supported by this server");
        }
        if (kind == Kind.TEXT) {
            JsonNode echo = present(root, "echo");
            if (echo != null && !(echo.isBoolean() && !echo.asBoolean())) {
                throw ApiError.unsupported("echo", "echo is not supported by this server, got " + echo);
            }
            JsonNode bestOf = present(root, "best_of");
            if (bestOf != null && !(bestOf.isIntegralNumber() && bestOf.asInt() == 1)) {
                throw ApiError.unsupported("best_of", "best_of must be 1, got " + bestOf);
            }
            JsonNode suffix = present(root, "suffix");
            if (suffix != null && !(suffix.isTextual() && suffix.asText().isEmpty())) {
                throw ApiError.unsupported("suffix", "suffix is not supported by this server");
            }
        }
    }

    /**
     * A number in {@code [min, max]} ({@code (min, max]} unless {@code minIncluded}), or {@code absent}; a bad
     * one is a 400 naming the field.
     */
    private static double range(JsonNode root, String field, double absent, double min, double max,
                                boolean minIncluded) {
        double value = number(root, field, absent);
        if (!(minIncluded ? value >= min : value > min) || !(value <= max)) {
            throw ApiError.invalid(field, field + " must be in " + (minIncluded ? "[" : "(") + min + ", " + max
                    + "], got " + value);
        }
        return value;
    }

    /** top_k (llama.cpp's and vLLM's extension): 0, or -1 as llama.cpp writes it, is off. */
    private static int topK(JsonNode root) {
        JsonNode value = present(root, "top_k");
        if (value == null) {
            return 0;
        }
        if (!value.isIntegralNumber() || !value.canConvertToInt() || value.asInt() < -1) {
            throw ApiError.invalid("top_k", "top_k must be an integer >= 0 (0 or -1: off), got " + value);
        }
        return Math.max(0, value.asInt());
    }

    /** stop: a string or an array of strings, each ending the text where it appears. */
    private static List<String> stops(JsonNode root) {
        JsonNode stop = present(root, "stop");
        if (stop == null) {
            return List.of();
        }
        List<String> stops = new ArrayList<>();
        if (stop.isTextual()) {
            stops.add(stop.asText());
        } else if (stop.isArray()) {
            for (JsonNode s : stop) {
                if (!s.isTextual()) {
                    throw ApiError.invalid("stop", "stop must be a string or an array of strings, got " + stop);
                }
                stops.add(s.asText());
            }
        } else {
            throw ApiError.invalid("stop", "stop must be a string or an array of strings, got " + stop);
        }
        if (stops.size() > Request.MAX_STOP_STRINGS) {
            throw ApiError.invalid("stop", "stop holds at most " + Request.MAX_STOP_STRINGS + " strings, got "
                    + stops.size());
        }
        for (String s : stops) {
            if (s.isEmpty() || s.length() > Request.MAX_STOP_LENGTH) {
                throw ApiError.invalid("stop", "each stop string must have 1 to " + Request.MAX_STOP_LENGTH
                        + " characters");
            }
        }
        return stops;
    }

    /**
     * Alternatives per token to report: completions' {@code logprobs} is their number; chat's is a flag, with
     * {@code top_logprobs} their number. {@link Request#NO_LOGPROBS} when none are asked for.
     */
    private static int logprobs(JsonNode root, Kind kind) {
        JsonNode logprobs = present(root, "logprobs");
        JsonNode top = present(root, "top_logprobs");
        if (kind == Kind.TEXT) {
            if (logprobs == null || (logprobs.isBoolean() && !logprobs.asBoolean())) {
                return Request.NO_LOGPROBS;
            }
            return alternatives(logprobs, "logprobs");
        }
        boolean asked = bool(root, "logprobs", false);
        if (!asked) {
            if (top != null) {
                throw ApiError.invalid("top_logprobs", "top_logprobs needs logprobs: true");
            }
            return Request.NO_LOGPROBS;
        }
        return top == null ? 0 : alternatives(top, "top_logprobs");
    }

    private static int alternatives(JsonNode value, String field) {
        if (!value.isIntegralNumber() || value.asInt() < 0 || value.asInt() > Request.MAX_TOP_LOGPROBS) {
            throw ApiError.invalid(field, field + " must be an integer from 0 to " + Request.MAX_TOP_LOGPROBS
                    + ", got " + value);
        }
        return value.asInt();
    }

    /** A completions prompt given as token ids ({@code [1, 2, 3]}, or one such array in an array), or null. */
    private static int[] tokenPrompt(JsonNode root) {
        JsonNode prompt = present(root, "prompt");
        if (prompt == null || !prompt.isArray() || prompt.isEmpty()) {
            return null;
        }
        if (prompt.size() == 1 && prompt.get(0).isArray()) {
            prompt = prompt.get(0);
        }
        if (!prompt.get(0).isIntegralNumber()) {
            return null;
        }
        int[] tokens = new int[prompt.size()];
        for (int i = 0; i < tokens.length; i++) {
            JsonNode token = prompt.get(i);
            if (!token.isIntegralNumber() || !token.canConvertToInt()) {
                throw ApiError.invalid("prompt", "prompt token " + i + " must be an integer, got " + token);
            }
            tokens[i] = token.asInt();
        }
        return tokens;
    }

    private static String prompt(JsonNode root) {
        JsonNode prompt = present(root, "prompt");
        if (prompt == null) {
            throw ApiError.invalid("prompt", "prompt is required");
        }
        if (prompt.isArray() && prompt.size() == 1 && prompt.get(0).isTextual()) {
            prompt = prompt.get(0);
        }
        if (!prompt.isTextual()) {
            throw ApiError.invalid("prompt", "prompt must be a string (or an array of one string)");
        }
        if (prompt.asText().isEmpty()) {
            throw ApiError.invalid("prompt", "prompt must not be empty");
        }
        return prompt.asText();
    }

    private static List<ChatMessage> messages(JsonNode root) {
        JsonNode messages = present(root, "messages");
        if (messages == null || !messages.isArray() || messages.isEmpty()) {
            throw ApiError.invalid("messages", "messages must be a non-empty array");
        }
        List<ChatMessage> list = new ArrayList<>(messages.size());
        for (int i = 0; i < messages.size(); i++) {
            JsonNode message = messages.get(i);
            String where = "messages[" + i + "]";
            if (!message.isObject()) {
                throw ApiError.invalid(where, where + " must be an object");
            }
            JsonNode role = message.get("role");
            if (role == null || !role.isTextual() || !ROLES.contains(role.asText())) {
                throw ApiError.invalid(where + ".role", where + ".role must be one of " + ROLES + ", got " + role);
            }
            list.add(new ChatMessage(role.asText().equals("developer") ? "system" : role.asText(),
                    content(message.get("content"), where + ".content")));
        }
        return list;
    }

    private static String content(JsonNode content, String where) {
        if (content == null || content.isNull()) {
            return "";
        }
        if (content.isTextual()) {
            return content.asText();
        }
        if (content.isArray()) {
            StringBuilder text = new StringBuilder();
            for (JsonNode part : content) {
                if (!part.isObject() || !"text".equals(part.path("type").asText()) || !part.path("text").isTextual()) {
                    throw ApiError.unsupported(where, where + ": only text parts are supported, got " + part);
                }
                text.append(part.get("text").asText());
            }
            return text.toString();
        }
        throw ApiError.invalid(where, where + " must be a string or an array of text parts");
    }

    /** The field's value, or null when it is absent or JSON null. */
    private static JsonNode present(JsonNode node, String field) {
        JsonNode value = node.get(field);
        return value == null || value.isNull() ? null : value;
    }

    private static Integer positiveInt(JsonNode root, String field) {
        JsonNode value = present(root, field);
        if (value == null) {
            return null;
        }
        if (!value.isIntegralNumber() || !value.canConvertToInt() || value.asInt() < 1) {
            throw ApiError.invalid(field, field + " must be a positive integer, got " + value);
        }
        return value.asInt();
    }

    private static double number(JsonNode root, String field, double absent) {
        JsonNode value = present(root, field);
        if (value == null) {
            return absent;
        }
        if (!value.isNumber()) {
            throw ApiError.invalid(field, field + " must be a number, got " + value);
        }
        return value.asDouble();
    }

    private static boolean bool(JsonNode node, String field, boolean absent) {
        JsonNode value = present(node, field);
        if (value == null) {
            return absent;
        }
        if (!value.isBoolean()) {
            throw ApiError.invalid(field, field + " must be true or false, got " + value);
        }
        return value.asBoolean();
    }
}
