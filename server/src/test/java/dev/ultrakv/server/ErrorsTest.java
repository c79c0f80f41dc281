package dev.ultrakv.server;

import static dev.ultrakv.server.TestServers.HTTP;
import static dev.ultrakv.server.TestServers.json;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ultrakv.scheduler.SchedulerConfig;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Every error in OpenAI's shape, with its status, and never a stack trace. */
class ErrorsTest {
    private static final String KEY = "s3cret";
    private static UltraKvServer server;

    @BeforeAll
    static void start() throws Exception {
        server = TestServers.start(ServerConfig.defaults().withApiKey(KEY).withMaxBodyBytes(4096),
                SchedulerConfig.builder().maxRunningSequences(1).maxQueuedRequests(1).build());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static HttpResponse<String> send(String path, String body, String key) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(server.baseUrl() + path))
                .header("Content-Type", "application/json");
        if (key != null) {
            request.header("Authorization", "Bearer " + key);
        }
        return HTTP.send(request.POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    /** The error body of {@code response}, checked for its shape and status. */
    private static JsonNode error(HttpResponse<String> response, int status) throws Exception {
        assertEquals(status, response.statusCode(), response.body());
        assertFalse(response.body().contains("\tat ") || response.body().contains("Exception"), response.body());
        assertTrue(response.headers().firstValue("X-Request-Id").isPresent());
        JsonNode error = json(response.body()).get("error");
        for (String field : List.of("message", "type", "param", "code")) {
            assertTrue(error.has(field), field + " in " + response.body());
        }
        return error;
    }

    @Test
    void badBodiesAndFieldsAre400NamingTheField() throws Exception {
        error(send("/v1/completions", "{\"prompt\": ", KEY), 400);
        assertEquals("temperature", error(send("/v1/completions", "{\"prompt\": \"Hi\", \"temperature\": \"hot\"}",
                KEY), 400).get("param").asText());
        assertEquals("max_tokens", error(send("/v1/completions", "{\"prompt\": \"Hi\", \"max_tokens\": 0}", KEY), 400)
                .get("param").asText());
        assertEquals("messages[0].role", error(send("/v1/chat/completions",
                "{\"messages\": [{\"role\": \"robot\", \"content\": \"Hi\"}]}", KEY), 400).get("param").asText());
        assertEquals("priority", error(send("/v1/completions", "{\"prompt\": \"Hi\", \"priority\": 7}", KEY), 400)
                .get("param").asText());
        assertEquals("n", error(send("/v1/completions", "{\"prompt\": \"Hi\", \"n\": 2}", KEY), 400)
                .get("param").asText());
        for (String field : List.of("\"top_p\": 0", "\"top_p\": 1.5", "\"top_k\": -2", "\"min_p\": 2",
                "\"stop\": 5", "\"stop\": [\"\"]", "\"presence_penalty\": 2.5", "\"frequency_penalty\": -3",
                "\"top_logprobs\": 2", "\"logprobs\": \"yes\"")) {
            JsonNode e = error(send("/v1/chat/completions",
                    "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}]," + field + "}", KEY), 400);
            assertTrue(field.startsWith("\"" + e.get("param").asText() + "\""), e.toString());
        }
        assertEquals("unsupported_parameter", error(send("/v1/chat/completions",
                "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"logit_bias\": {\"5\": 1}}", KEY), 400)
                .get("code").asText());
        // The neutral values pass.
        assertEquals(200, send("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}],"
                + " \"top_p\": 1, \"presence_penalty\": 0, \"frequency_penalty\": 0, \"logprobs\": false, \"n\": 1,"
                + " \"max_tokens\": 2}", KEY).statusCode());
    }

    @Test
    void promptLongerThanTheContextIs400WithBothLengths() throws Exception {
        String prompt = "once upon a time ".repeat(200);
        JsonNode e = error(send("/v1/completions", "{\"prompt\": \"" + prompt + "\", \"max_tokens\": 1}", KEY), 400);
        assertEquals("context_length_exceeded", e.get("code").asText());
        assertTrue(e.get("message").asText().matches(".*\\d+.*\\b512\\b.*"), e.toString());
    }

    @Test
    void missingOrWrongKeyIs401() throws Exception {
        error(send("/v1/completions", "{\"prompt\": \"Hi\"}", null), 401);
        // The right key, then one differing only in case on the same connection (Jetty's header cache).
        assertEquals(200, send("/v1/completions", "{\"prompt\": \"Hi\", \"max_tokens\": 1}", KEY).statusCode());
        error(send("/v1/completions", "{\"prompt\": \"Hi\"}", "s3creT"), 401);
        assertEquals(200, TestServers.get(server, "/health").statusCode(), "the probe needs no key");
    }

    @Test
    void unknownRouteOrModelIs404() throws Exception {
        error(send("/v1/nothing", "{}", KEY), 404);
        assertEquals("model_not_found", error(send("/v1/completions", "{\"prompt\": \"Hi\", \"model\": \"gpt-4\"}",
                KEY), 404).get("code").asText());
    }

    @Test
    void bodyOverTheLimitIs413() throws Exception {
        error(send("/v1/completions", "{\"prompt\": \"" + "a".repeat(5000) + "\"}", KEY), 413);
    }

    @Test
    void fullQueueIs429WithRetryAfter() throws Exception {
        List<CompletableFuture<HttpResponse<String>>> responses = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            responses.add(HTTP.sendAsync(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/v1/completions"))
                    .header("Authorization", "Bearer " + KEY).POST(HttpRequest.BodyPublishers.ofString(
                            "{\"prompt\": \"Once upon a time " + i + "\", \"max_tokens\": 200}")).build(),
                    HttpResponse.BodyHandlers.ofString()));
        }
        int rejected = 0;
        for (CompletableFuture<HttpResponse<String>> response : responses) {
            HttpResponse<String> r = response.get(60, TimeUnit.SECONDS);
            if (r.statusCode() == 429) {
                error(r, 429);
                assertTrue(r.headers().firstValue("Retry-After").isPresent());
                rejected++;
            } else {
                assertEquals(200, r.statusCode(), r.body());
            }
        }
        assertTrue(rejected > 0, "one runs, one waits, the rest are turned away");
    }
}
