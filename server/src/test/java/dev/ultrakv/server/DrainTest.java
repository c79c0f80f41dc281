package dev.ultrakv.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** SIGTERM drains a real {@code serve} process: the request in flight completes, the process exits 0. */
class DrainTest {
    private static final Pattern SERVING = Pattern.compile("serving .* on http://127\\.0\\.0\\.1:(\\d+)/");

    @Test
    void sigtermFinishesTheRequestInFlightAndExitsZero() throws Exception {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        Process process = new ProcessBuilder(List.of(java.toString(), "--add-modules", "jdk.incubator.vector",
                "--enable-native-access=ALL-UNNAMED", "-cp", System.getProperty("java.class.path"),
                ServeCommand.class.getName(), "--port", "0", "--drain-timeout", "20"))
                .redirectErrorStream(true).start();
        try {
            BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8));
            int port = -1;
            for (String line; port < 0 && (line = out.readLine()) != null; ) {
                Matcher m = SERVING.matcher(line);
                if (m.find()) {
                    port = Integer.parseInt(m.group(1));
                }
            }
            assertTrue(port > 0, "the server said where it listens");
            CompletableFuture.runAsync(() -> out.lines().forEach(line -> { }));
            String body = "{\"prompt\": \"Once upon a time\", \"max_tokens\": 300, \"temperature\": 0.9,"
                    + " \"stream\": true}";
            HttpResponse<InputStream> response = TestServers.HTTP.send(HttpRequest.newBuilder(
                    URI.create("http://127.0.0.1:" + port + "/v1/completions"))
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
            assertEquals(200, response.statusCode());
            try (InputStream stream = response.body()) {
                byte[] first = stream.readNBytes(64);
                process.destroy();
                String rest = new String(stream.readAllBytes(), StandardCharsets.UTF_8);
                assertTrue(first.length == 64 && rest.endsWith("data: [DONE]\n\n"),
                        "the request in flight completed after SIGTERM");
            }
            assertTrue(process.waitFor(30, TimeUnit.SECONDS), "the server stopped");
            assertEquals(0, process.exitValue());
        } finally {
            process.destroyForcibly();
        }
    }
}
