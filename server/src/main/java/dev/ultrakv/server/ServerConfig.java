package dev.ultrakv.server;

import java.time.Duration;
import java.util.Objects;

/**
 * How the HTTP server listens and guards itself.
 *
 * @param host          the address to bind (loopback by default: nothing outside the machine reaches it)
 * @param port          the port, 0 for any free one
 * @param apiKey        the key clients must send as {@code Authorization: Bearer KEY}, or null for none
 * @param maxBodyBytes  the largest request body accepted; a larger one is answered 413
 * @param drainTimeout  how long a drain waits for in-flight requests before closing the engine under them
 */
public record ServerConfig(String host, int port, String apiKey, long maxBodyBytes, Duration drainTimeout) {
    /** The loopback address the server binds unless told otherwise. */
    public static final String DEFAULT_HOST = "127.0.0.1";
    /** llama-server's and most OpenAI-compatible servers' port. */
    public static final int DEFAULT_PORT = 8080;
    /** 1 MiB: a prompt of a long context is some hundred KiB of JSON; more is a mistake or an attack. */
    public static final long DEFAULT_MAX_BODY_BYTES = 1 << 20;
    /** Long enough for a typical reply of a small model to finish, short enough for an orchestrator's grace. */
    public static final Duration DEFAULT_DRAIN_TIMEOUT = Duration.ofSeconds(25);

    /** Checks the values. */
    public ServerConfig {
        Objects.requireNonNull(host, "host");
        Objects.requireNonNull(drainTimeout, "drainTimeout");
        if (port < 0 || port > 65_535) {
            throw new IllegalArgumentException("port must be 0 to 65535, got " + port);
        }
        if (maxBodyBytes < 1) {
            throw new IllegalArgumentException("maxBodyBytes must be positive, got " + maxBodyBytes);
        }
        if (drainTimeout.isNegative()) {
            throw new IllegalArgumentException("drainTimeout must not be negative, got " + drainTimeout);
        }
        if (apiKey != null && apiKey.isEmpty()) {
            throw new IllegalArgumentException("apiKey must not be empty (leave it out for no key)");
        }
    }

    /** The defaults: loopback, port 8080, no key, 1 MiB bodies, 25 s drain. */
    public static ServerConfig defaults() {
        return new ServerConfig(DEFAULT_HOST, DEFAULT_PORT, null, DEFAULT_MAX_BODY_BYTES, DEFAULT_DRAIN_TIMEOUT);
    }

    /** This configuration listening on {@code port}. */
    public ServerConfig withPort(int port) {
        return new ServerConfig(host, port, apiKey, maxBodyBytes, drainTimeout);
    }

    /** This configuration asking for {@code apiKey} (null for none). */
    public ServerConfig withApiKey(String apiKey) {
        return new ServerConfig(host, port, apiKey, maxBodyBytes, drainTimeout);
    }

    /** This configuration accepting bodies up to {@code maxBodyBytes}. */
    public ServerConfig withMaxBodyBytes(long maxBodyBytes) {
        return new ServerConfig(host, port, apiKey, maxBodyBytes, drainTimeout);
    }

    /** Whether the host is a loopback address, reachable from this machine only. */
    public boolean loopback() {
        return host.equals("localhost") || host.startsWith("127.") || host.equals("::1") || host.equals("[::1]");
    }

    @Override
    public String toString() {
        return "ServerConfig[" + host + ":" + port + (apiKey != null ? ", api key set" : ", no api key")
                + ", maxBodyBytes " + maxBodyBytes + ", drainTimeout " + drainTimeout + "]";
    }
}
