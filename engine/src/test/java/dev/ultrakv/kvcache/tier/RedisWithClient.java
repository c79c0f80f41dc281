package dev.ultrakv.kvcache.tier;

import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.codec.ByteArrayCodec;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * A real redis-server (see {@link RedisServerProcess}) with a plain Lettuce connection beside it, for tests that
 * look at or arrange the server's contents directly: registered as a static {@code @RegisterExtension} field, it
 * starts before the class's tests and stops after them, its files in a directory of its own.
 */
final class RedisWithClient implements BeforeAllCallback, AfterAllCallback {
    private Path directory;
    private RedisServerProcess server;
    private RedisClient client;
    private StatefulRedisConnection<byte[], byte[]> connection;

    @Override
    public void beforeAll(ExtensionContext context) throws IOException {
        directory = Files.createTempDirectory("redis-test");
        server = RedisServerProcess.start(directory);
        client = RedisClient.create(server.uri());
        connection = client.connect(ByteArrayCodec.INSTANCE);
    }

    @Override
    public void afterAll(ExtensionContext context) throws IOException {
        if (connection != null) {
            connection.close();
        }
        if (client != null) {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
        if (server != null) {
            server.close();
        }
        if (directory != null) {
            try (Stream<Path> files = Files.walk(directory)) {
                files.sorted(Comparator.reverseOrder()).forEach(RedisWithClient::delete);
            }
        }
    }

    /** The server's {@code redis://} address. */
    String uri() {
        return server.uri();
    }

    /** The plain connection: binary keys and values. */
    StatefulRedisConnection<byte[], byte[]> connection() {
        return connection;
    }

    private static void delete(Path path) {
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
