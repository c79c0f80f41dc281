package dev.ultrakv.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.networknt.schema.Error;
import com.networknt.schema.InputFormat;
import com.networknt.schema.SchemaRegistry;
import com.networknt.schema.SpecificationVersion;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.ultrakv.KVCacheConfig;
import dev.ultrakv.UltraAdaptiveKVCacheEngine;
import dev.ultrakv.bench.suite.ResultsJson;
import dev.ultrakv.server.ServerConfig;
import dev.ultrakv.server.UltraKvServer;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@code bench serve} end to end against a small OpenAI-framed server written here on the JDK's
 * {@code com.sun.net.httpserver}.
 *
 * <p>The server is a test fixture of the HTTP protocol, not a mock of a model server: it streams real SSE (chunked
 * transfer, {@code data:} chunks with CR LF line ends and keep-alive comments, a usage chunk, {@code data: [DONE]})
 * with delays it controls (first token after {@value #FIRST_TOKEN_MS} ms, then one every {@value #TOKEN_MS} ms),
 * so the client's timing arithmetic (TTFT, TPOT, ITL, counts, cached share, errors by status) can be checked
 * against known values. The real peers are UltraKV's own {@code serve} (once it merges) and llama.cpp's
 * {@code llama-server} ({@link #againstLlamaServer}, run where {@code ULTRAKV_LLAMA_SERVER} names one).
 */
class BenchServeCommandTest {
    static final long FIRST_TOKEN_MS = 60;
    static final long TOKEN_MS = 20;
    /** Requests whose {@code max_tokens} is this stall for {@value #STALL_MS} ms before answering. */
    static final int STALLING_MAX_TOKENS = 99;
    static final long STALL_MS = 5_000;
    /** Every fifth request is refused with 429. */
    static final int REFUSE_EVERY = 5;
    static final String KEY = "test-key-8d3f";

    static {
        // The fixture writes each chunk as it goes; without TCP_NODELAY, Nagle's algorithm holds a chunk back until
        // the client's delayed ACK (40 ms on Linux) and two chunks then arrive together: real ITLs of 0 and 40 ms.
        System.setProperty("sun.net.httpserver.nodelay", "true");
    }

    private HttpServer server;
    private String url;
    private final AtomicInteger completions = new AtomicInteger();
    private final Queue<JsonNode> bodies = new ConcurrentLinkedQueue<>();
    private final ObjectMapper mapper = new ObjectMapper();

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        server.createContext("/v1/models", exchange -> respond(exchange, 200,
                "{\"object\":\"list\",\"data\":[{\"id\":\"fixture-model\",\"object\":\"model\"}]}"));
        server.createContext("/v1/completions", exchange -> complete(exchange, false));
        server.createContext("/v1/chat/completions", exchange -> complete(exchange, true));
        server.start();
        url = "http://127.0.0.1:" + server.getAddress().getPort();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private void complete(HttpExchange exchange, boolean chat) throws IOException {
        JsonNode body = mapper.readTree(exchange.getRequestBody());
        bodies.add(body);
        if (!("Bearer " + KEY).equals(exchange.getRequestHeaders().getFirst("Authorization"))) {
            respond(exchange, 401, "{\"error\":{\"message\":\"bad key\",\"type\":\"auth\"}}");
            return;
        }
        if (completions.incrementAndGet() % REFUSE_EVERY == 0) {
            respond(exchange, 429, "{\"error\":{\"message\":\"queue full\",\"type\":\"rate_limit\"}}");
            return;
        }
        int tokens = body.path("max_tokens").asInt();
        if (tokens == STALLING_MAX_TOKENS) {
            sleep(STALL_MS);
        }
        String prompt = chat ? body.path("messages").toString() : body.path("prompt").asText();
        int promptTokens = prompt.split(" ").length;
        String usage = "\"usage\":{\"prompt_tokens\":" + promptTokens + ",\"completion_tokens\":" + tokens
                + ",\"prompt_tokens_details\":{\"cached_tokens\":" + promptTokens / 2 + "}}";
        if (!body.path("stream").asBoolean()) {
            String choice = chat ? "{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\" fixture\"}}"
                    : "{\"index\":0,\"text\":\" fixture\"}";
            sleep(FIRST_TOKEN_MS);
            respond(exchange, 200, "{\"object\":\"text_completion\",\"choices\":[" + choice + "]," + usage + "}");
            return;
        }
        exchange.getResponseHeaders().add("Content-Type", "text/event-stream");
        exchange.sendResponseHeaders(200, 0);
        try (OutputStream out = exchange.getResponseBody()) {
            if (chat) {
                send(out, "data: {\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\"}}]}\r\n\r\n");
            }
            for (int t = 0; t < tokens; t++) {
                sleep(t == 0 ? FIRST_TOKEN_MS : TOKEN_MS);
                String piece = "\" w" + t + "\"";
                send(out, chat ? "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":" + piece + "}}]}\r\n\r\n"
                        : ": keep-alive\r\ndata: {\"choices\":[{\"index\":0,\"text\":" + piece + "}]}\r\n\r\n");
            }
            send(out, "data: {\"choices\":[]," + usage + "}\r\n\r\ndata: [DONE]\r\n\r\n");
        }
    }

    private static void send(OutputStream out, String text) throws IOException {
        out.write(text.getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static void respond(HttpExchange exchange, int status, String json) throws IOException {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(bytes);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void assertMatchesSchema(JsonNode results) throws IOException {
        try (InputStream schemaText = ResultsJson.class.getResourceAsStream(ResultsJson.SCHEMA_RESOURCE)) {
            List<Error> errors = SchemaRegistry.withDefaultDialect(SpecificationVersion.DRAFT_2020_12)
                    .getSchema(schemaText, InputFormat.JSON).validate(results);
            assertTrue(errors.isEmpty(), errors.toString());
        }
    }

    @Test
    void streaming_measuresTheFixturesDelays_countsRefusalsByStatus_andWritesAResultsDirectory(@TempDir Path dir)
            throws IOException {
        Path out = dir.resolve("run");
        CliRun run = CliRun.of("bench", "serve", "--url", url, "--api-key", KEY, "--concurrency", "1,4",
                "--requests", "10", "--max-tokens", "4", "--prompt-words", "8", "--stream", "--out", out.toString());
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().contains("429: {\"error\":{\"message\":\"queue full\""), run.out());

        JsonNode results = mapper.readTree(out.resolve("results.json").toFile());
        assertMatchesSchema(results);
        assertFalse(Files.readString(out.resolve("results.json")).contains(KEY), "the key is never written");
        assertEquals("fixture-model", results.at("/model/name").asText());
        JsonNode levels = results.at("/benchmarks/serve/levels");
        assertEquals(2, levels.size());
        int refused = 0;
        for (JsonNode level : levels) {
            int completed = level.get("completed").asInt();
            refused += level.at("/errors/429").asInt();
            assertEquals(10, completed + level.get("failed").asInt());
            assertEquals(level.get("failed").asInt(), level.at("/errors/429").asInt(), "only refusals fail");
            assertEquals(4L * completed, level.get("outputTokens").asLong());
            assertEquals(completed, level.at("/ttft/count").asInt());
            assertEquals(3L * completed, level.at("/itl/count").asLong(), "three gaps between four chunks");
            assertEquals(0.5, level.get("cachedTokenShare").asDouble(), 1e-12, "the fixture caches half");
            assertTrue(level.at("/ttft/min").asDouble() >= FIRST_TOKEN_MS, level.toString());
            assertTrue(level.at("/ttft/p50").asDouble() < FIRST_TOKEN_MS + 500, level.toString());
            // A late chunk shortens the gap after it, so single gaps can be shorter than the fixture's; their mean
            // cannot be much shorter, and only scheduling on a busy machine makes them longer.
            assertTrue(level.at("/itl/mean").asDouble() >= 0.9 * TOKEN_MS, level.toString());
            assertTrue(level.at("/itl/p50").asDouble() < TOKEN_MS + 200, level.toString());
            assertTrue(level.at("/tpot/mean").asDouble() >= 0.9 * TOKEN_MS, level.toString());
            assertTrue(level.at("/e2el/min").asDouble() >= FIRST_TOKEN_MS + 3 * TOKEN_MS, level.toString());
            assertTrue(level.at("/e2el/p50").asDouble() >= level.at("/ttft/p50").asDouble());
        }
        assertEquals(20 / REFUSE_EVERY, refused, "every fifth of 20 requests");
        JsonNode first = bodies.peek();
        assertEquals("fixture-model", first.get("model").asText());
        assertTrue(first.at("/stream_options/include_usage").asBoolean());

        assertEquals(1 + 2, Files.readAllLines(out.resolve("results.csv")).size());
        assertTrue(Files.size(out.resolve("serve-throughput.png")) > 1000);
        assertTrue(Files.readString(out.resolve("report.html")).contains("queue full"));

        CliRun compare = CliRun.of("bench", "compare", out.toString(), out.toString());
        assertEquals(0, compare.exitCode(), compare.err());
    }

    @Test
    void multiTurnChat_sendsEachTurnWithTheEarlierTurnsAndTheServersAnswers(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("chat");
        CliRun run = CliRun.of("bench", "serve", "--url", url + "/v1", "--api-key", KEY, "--model", "m",
                "--concurrency", "1", "--requests", "3", "--max-tokens", "2", "--workload", "multi-turn",
                "--turns", "3", "--chat", "--out", out.toString());
        assertEquals(0, run.exitCode(), run.err());
        List<JsonNode> sent = List.copyOf(bodies);
        assertEquals(3, sent.size());
        for (int turn = 0; turn < 3; turn++) {
            JsonNode messages = sent.get(turn).get("messages");
            assertEquals(2 * turn + 1, messages.size(), "turn " + turn);
            assertEquals("m", sent.get(turn).get("model").asText());
            assertFalse(sent.get(turn).get("stream").asBoolean());
            if (turn > 0) {
                assertEquals(" fixture", messages.get(1).get("content").asText(), "the server's answer quoted");
                assertEquals(sent.get(0).at("/messages/0"), messages.get(0));
            }
        }
        JsonNode level = mapper.readTree(out.resolve("results.json").toFile()).at("/benchmarks/serve/levels/0");
        assertEquals(3, level.get("completed").asInt());
        assertEquals(0, level.at("/ttft/count").asInt(), "no time to first token without streaming");
        assertTrue(level.at("/e2el/min").asDouble() >= FIRST_TOKEN_MS);
    }

    @Test
    void aStallingServer_isBoundedByTheTimeoutAndTheDeadline(@TempDir Path dir) throws IOException {
        long start = System.nanoTime();
        CliRun timeouts = CliRun.of("bench", "serve", "--url", url, "--api-key", KEY, "--concurrency", "3",
                "--requests", "3", "--max-tokens", Integer.toString(STALLING_MAX_TOKENS), "--timeout", "0.3",
                "--out", dir.resolve("timeouts").toString());
        assertEquals(1, timeouts.exitCode(), "no request completed");
        assertTrue(timeouts.err().contains("no request completed"), timeouts.err());
        JsonNode level = mapper.readTree(dir.resolve("timeouts/results.json").toFile())
                .at("/benchmarks/serve/levels/0");
        assertEquals(3, level.at("/errors/timeout").asInt(), level.toString());

        CliRun deadline = CliRun.of("bench", "serve", "--url", url, "--api-key", KEY, "--concurrency", "1",
                "--requests", "3", "--max-tokens", Integer.toString(STALLING_MAX_TOKENS), "--deadline", "0.5",
                "--out", dir.resolve("deadline").toString());
        assertEquals(1, deadline.exitCode());
        level = mapper.readTree(dir.resolve("deadline/results.json").toFile()).at("/benchmarks/serve/levels/0");
        assertEquals(1, level.at("/errors/deadline").asInt(), level.toString());
        assertEquals(2, level.get("notSent").asInt(), level.toString());
        assertTrue((System.nanoTime() - start) / 1e9 < STALL_MS / 1000.0, "neither run waited for the server");
    }

    @Test
    void aWrongKey_isCountedAs401_andAnUnreachableServerAsConnection(@TempDir Path dir) throws IOException {
        CliRun wrongKey = CliRun.of("bench", "serve", "--url", url, "--api-key", "wrong", "--concurrency", "2",
                "--requests", "2", "--out", dir.resolve("key").toString());
        assertEquals(1, wrongKey.exitCode());
        assertTrue(wrongKey.out().contains("401=2"), wrongKey.out());
        server.stop(0);
        CliRun nobody = CliRun.of("bench", "serve", "--url", url, "--concurrency", "1", "--requests", "2",
                "--timeout", "2", "--out", dir.resolve("nobody").toString());
        assertEquals(1, nobody.exitCode());
        assertTrue(nobody.out().contains("connection=2"), nobody.out());
    }

    @Test
    void badOptions_areUsageErrors() {
        assertEquals(2, CliRun.of("bench", "serve").exitCode(), "--url is required");
        CliRun trace = CliRun.of("bench", "serve", "--url", url, "--workload", "trace");
        assertEquals(2, trace.exitCode());
        assertTrue(trace.err().contains("trace FILE"), trace.err());
        CliRun extra = CliRun.of("bench", "serve", "--url", url, "--workload", "random", "file");
        assertEquals(2, extra.exitCode(), extra.err());
        for (String levels : new String[] {"0", "1,5000"}) {
            CliRun concurrency = CliRun.of("bench", "serve", "--url", url, "--concurrency", levels);
            assertEquals(1, concurrency.exitCode(), concurrency.err());
            assertTrue(concurrency.err().contains("--concurrency must list levels from 1 to 4096"), concurrency.err());
        }
    }

    /**
     * The real peer, here: UltraKV's own {@code serve} on the embedded model, driven by the load generator over
     * loopback with a shared-prefix workload; its usage reports the prefix cache's tokens.
     */
    @Test
    void againstUltraKvServe(@TempDir Path dir) throws Exception {
        try (UltraKvServer server = UltraKvServer.start(ServerConfig.defaults().withPort(0),
                () -> new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().build()))) {
            Path out = dir.resolve("ultrakv");
            CliRun run = CliRun.of("bench", "serve", "--url", server.baseUrl(), "--concurrency", "1,4",
                    "--requests", "8", "--max-tokens", "16", "--prompt-words", "8", "--workload", "shared-prefix",
                    "--prefix-words", "48", "--prefixes", "1", "--stream", "--timeout", "30", "--deadline", "120",
                    "--out", out.toString());
            assertEquals(0, run.exitCode(), run.err() + run.out());
            JsonNode results = mapper.readTree(out.resolve("results.json").toFile());
            assertMatchesSchema(results);
            for (JsonNode level : results.at("/benchmarks/serve/levels")) {
                assertEquals(8, level.get("completed").asInt(), level.toString());
                assertEquals(8, level.at("/ttft/count").asInt());
                assertTrue(level.get("outputTokens").asLong() > 0);
                assertTrue(level.get("cachedTokensReported").asInt() > 0, "usage reports the cached prefix");
            }
        }
    }

    /**
     * The real peer: {@code ULTRAKV_LLAMA_SERVER=http://127.0.0.1:18080} names a running llama.cpp
     * {@code llama-server} (e.g. on stories260K.gguf with {@code -np 4}); skipped where it is not set.
     */
    @Test
    void againstLlamaServer(@TempDir Path dir) throws IOException {
        String llama = System.getenv("ULTRAKV_LLAMA_SERVER");
        org.junit.jupiter.api.Assumptions.assumeTrue(llama != null && !llama.isBlank(),
                "set ULTRAKV_LLAMA_SERVER to a running llama-server's URL");
        Path out = dir.resolve("llama");
        CliRun run = CliRun.of("bench", "serve", "--url", llama, "--concurrency", "1,2", "--requests", "6",
                "--max-tokens", "16", "--prompt-words", "8", "--workload", "shared-prefix", "--prefix-words", "24",
                "--prefixes", "1", "--stream", "--timeout", "30", "--deadline", "120", "--out", out.toString());
        assertEquals(0, run.exitCode(), run.err() + run.out());
        JsonNode results = mapper.readTree(out.resolve("results.json").toFile());
        assertMatchesSchema(results);
        for (JsonNode level : results.at("/benchmarks/serve/levels")) {
            assertEquals(6, level.get("completed").asInt(), level.toString());
            assertEquals(6, level.at("/ttft/count").asInt());
            assertTrue(level.get("outputTokens").asLong() > 0);
            assertTrue(level.get("cachedTokensReported").asInt() > 0, "llama-server's timings say what it cached");
        }
    }
}
