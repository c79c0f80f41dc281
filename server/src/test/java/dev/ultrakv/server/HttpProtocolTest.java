package dev.ultrakv.server;

import static dev.ultrakv.server.TestServers.HTTP;
import static dev.ultrakv.server.TestServers.json;
import static dev.ultrakv.server.TestServers.metric;
import static dev.ultrakv.server.TestServers.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import dev.ultrakv.KVCacheConfig;
import dev.ultrakv.Request;
import dev.ultrakv.UltraAdaptiveKVCacheEngine;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The wire: SSE framing byte for byte, many streaming clients, clients that drop, the plain endpoints. */
class HttpProtocolTest {
    private static UltraKvServer server;

    @BeforeAll
    static void start() throws Exception {
        server = TestServers.start(ServerConfig.defaults());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static String streamBody(String prompt, int maxTokens) {
        return "{\"prompt\": \"" + prompt + "\", \"max_tokens\": " + maxTokens
                + ", \"temperature\": 0, \"stream\": true}";
    }

    @Test
    void streamIsFramedExactlyAsOpenAiFramesIt() throws Exception {
        String body = "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}], \"max_tokens\": 6,"
                + " \"temperature\": 0, \"stream\": true, \"stream_options\": {\"include_usage\": true}}";
        HttpResponse<byte[]> response = HTTP.send(HttpRequest.newBuilder(URI.create(server.baseUrl()
                + "/v1/chat/completions")).POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofByteArray());
        assertEquals(200, response.statusCode());
        assertTrue(response.headers().firstValue("Content-Type").orElseThrow().startsWith("text/event-stream"));
        String id = response.headers().firstValue("X-Request-Id").orElseThrow();
        String text = new String(response.body(), StandardCharsets.UTF_8);
        assertTrue(text.endsWith("data: [DONE]\n\n"), text);
        String[] events = text.substring(0, text.length() - 2).split("\n\n", -1);
        StringBuilder content = new StringBuilder();
        for (int i = 0; i < events.length - 1; i++) {
            assertTrue(events[i].startsWith("data: {"), events[i]);
            assertFalse(events[i].contains("\n"), "one data line per event, no event: or id: lines");
            JsonNode chunk = json(events[i].substring(6));
            assertEquals(id, chunk.get("id").asText());
            assertEquals("chat.completion.chunk", chunk.get("object").asText());
            if (i == 0) {
                assertEquals("assistant", chunk.at("/choices/0/delta/role").asText());
            }
            if (i == events.length - 2) {
                assertEquals(0, chunk.get("choices").size());
                assertEquals(6, chunk.at("/usage/completion_tokens").asInt());
            } else {
                content.append(chunk.at("/choices/0/delta/content").asText());
            }
        }
        assertEquals("data: [DONE]", events[events.length - 1]);
        String whole = json(post(server, "/v1/chat/completions",
                body.replace("\"stream\": true", "\"stream\": false")).body()).toString();
        JsonNode wholeJson = json(whole);
        assertEquals(wholeJson.at("/choices/0/message/content").asText(), content.toString());
        assertEquals("length", wholeJson.at("/choices/0/finish_reason").asText());
    }

    @Test
    void sixtyFourStreamingClientsAllFinishWithTheEngineText() throws Exception {
        int clients = 64;
        List<String> prompts = new ArrayList<>();
        for (int i = 0; i < clients; i++) {
            prompts.add(i % 2 == 0 ? "Once upon a time " + i : "The cat " + i + " saw");
        }
        List<CompletableFuture<String>> streams = new ArrayList<>();
        for (String prompt : prompts) {
            streams.add(HTTP.sendAsync(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString(streamBody(prompt, 24))).build(),
                    HttpResponse.BodyHandlers.ofString()).thenApply(r -> {
                        StringBuilder text = new StringBuilder();
                        for (String event : r.body().split("\n\n")) {
                            if (!event.equals("data: [DONE]")) {
                                try {
                                    text.append(json(event.substring(6)).at("/choices/0/text").asText());
                                } catch (java.io.IOException e) {
                                    throw new java.io.UncheckedIOException(e);
                                }
                            }
                        }
                        return text.toString();
                    }));
        }
        try (var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().build())) {
            for (int i = 0; i < clients; i++) {
                String expected = engine.processRequest(Request.builder().text(prompts.get(i)).maxNewTokens(24)
                        .build()).join().text();
                assertEquals(expected, streams.get(i).get(60, TimeUnit.SECONDS), "client " + i);
            }
        }
    }

    @Test
    void clientsThatDropMidStreamLeaveNothingRunningOrPinned() throws Exception {
        int clients = 20;
        double cancelledBefore = metric(server, "ultrakv_engine_requests_total{outcome=\"cancelled\"}");
        try (ExecutorService pool = Executors.newVirtualThreadPerTaskExecutor()) {
            List<CompletableFuture<Void>> drops = new ArrayList<>();
            for (int i = 0; i < clients; i++) {
                String body = streamBody("Once upon a time, in a land " + i, 480).replace("\"temperature\": 0",
                        "\"temperature\": 0.8");
                drops.add(CompletableFuture.runAsync(() -> {
                    try {
                        HttpResponse<InputStream> response = HTTP.send(HttpRequest.newBuilder(URI.create(
                                server.baseUrl() + "/v1/completions")).POST(HttpRequest.BodyPublishers.ofString(body))
                                .build(), HttpResponse.BodyHandlers.ofInputStream());
                        try (InputStream in = response.body()) {
                            in.readNBytes(400);
                        }
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                }, pool));
            }
            CompletableFuture.allOf(drops.toArray(CompletableFuture[]::new)).get(30, TimeUnit.SECONDS);
        }
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while ((metric(server, "ultrakv_running_sequences") > 0 || metric(server, "ultrakv_kv_blocks_pinned") > 0
                || metric(server, "ultrakv_server_requests_in_flight") > 0) && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertEquals(0, metric(server, "ultrakv_running_sequences"));
        assertEquals(0, metric(server, "ultrakv_kv_blocks_pinned"));
        double cancelled = metric(server, "ultrakv_engine_requests_total{outcome=\"cancelled\"}") - cancelledBefore;
        assertTrue(cancelled > 0, "dropped streams are cancelled, not run to the end: " + cancelled);
    }

    @Test
    void modelsHealthTokenizeAndDetokenize() throws Exception {
        JsonNode models = json(TestServers.get(server, "/v1/models").body());
        assertEquals("stories260K", models.at("/data/0/id").asText());
        assertEquals("plain", models.at("/data/0/meta/chat_format").asText());
        assertEquals(200, TestServers.get(server, "/health").statusCode());
        JsonNode tokens = json(post(server, "/tokenize", "{\"content\": \"Once upon a time\", \"add_special\": true}")
                .body()).get("tokens");
        assertEquals(server.engine().tokenize("Once upon a time", true).length, tokens.size());
        JsonNode text = json(post(server, "/detokenize", "{\"tokens\": " + tokens + "}").body());
        assertEquals("Once upon a time", text.get("content").asText());
        String page = TestServers.get(server, "/").body();
        assertTrue(page.contains("<script>") && !page.contains("http://") && !page.contains("https://"),
                "a self-contained page");
    }
}
