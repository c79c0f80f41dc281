package dev.ultrakv.server;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ultrakv.KVCacheConfig;
import dev.ultrakv.UltraAdaptiveKVCacheEngine;
import dev.ultrakv.scheduler.SchedulerConfig;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** Servers on an ephemeral loopback port over the embedded model, and a raw HTTP client for them. */
final class TestServers {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private TestServers() {
    }

    /** A server with the default cache and scheduling. */
    static UltraKvServer start(ServerConfig config) throws Exception {
        return start(config, SchedulerConfig.defaults());
    }

    /** A server on any free port with {@code scheduling}. */
    static UltraKvServer start(ServerConfig config, SchedulerConfig scheduling) throws Exception {
        return UltraKvServer.start(config.withPort(0),
                () -> new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().build(), scheduling));
    }

    static HttpResponse<String> post(UltraKvServer server, String path, String body) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(UltraKvServer server, String path) throws Exception {
        return HTTP.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + path)).GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode json(String text) throws IOException {
        return JSON.readTree(text);
    }

    /** The value of metric line {@code name} (with its labels as written) in Prometheus text. */
    static double metric(UltraKvServer server, String name) throws Exception {
        for (String line : get(server, "/metrics").body().split("\n")) {
            if (line.startsWith(name + " ")) {
                return Double.parseDouble(line.substring(name.length() + 1).trim());
            }
        }
        throw new AssertionError("no metric " + name);
    }
}
