package dev.ultrakv.bench.serve;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import java.io.BufferedInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * {@link OpenAiClient} against a server written on a bare socket, so that it can misbehave the way real servers do:
 * close a kept-alive connection after each streamed response without saying so (llama-server), or stall.
 */
class OpenAiClientTest {
    private static final String STREAM = "data: {\"choices\":[{\"index\":0,\"text\":\" a\"}]}\n\n"
            + "data: {\"choices\":[{\"index\":0,\"text\":\" b\"}]}\n\n"
            + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":2}}\n\n"
            + "data: [DONE]\n\n";

    private final ServerSocket listener = newListener();
    private final AtomicInteger connections = new AtomicInteger();
    private final AtomicInteger requests = new AtomicInteger();
    private Thread acceptor;

    private static ServerSocket newListener() {
        try {
            return new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    @AfterEach
    void stop() throws Exception {
        listener.close();
        if (acceptor != null) {
            acceptor.join(5_000);
        }
    }

    /** Accepts connections, each served by {@code handler} on a thread of its own, until the listener closes. */
    private void serve(ConnectionHandler handler) {
        acceptor = Thread.ofPlatform().daemon().start(() -> {
            while (!listener.isClosed()) {
                try {
                    Socket socket = listener.accept();
                    connections.incrementAndGet();
                    Thread.ofPlatform().daemon().start(() -> {
                        try (socket) {
                            handler.handle(new BufferedInputStream(socket.getInputStream()), socket.getOutputStream());
                        } catch (IOException e) {
                            // the client went away: nothing to serve
                        }
                    });
                } catch (IOException e) {
                    return;
                }
            }
        });
    }

    private interface ConnectionHandler {
        void handle(InputStream in, OutputStream out) throws IOException;
    }

    /** Reads one request's head and its Content-Length body; false at the end of the connection. */
    private boolean readRequest(InputStream in) throws IOException {
        ByteArrayOutputStream head = new ByteArrayOutputStream();
        for (int b; (b = in.read()) >= 0; ) {
            head.write(b);
            if (head.size() >= 4 && head.toString(StandardCharsets.ISO_8859_1).endsWith("\r\n\r\n")) {
                String text = head.toString(StandardCharsets.ISO_8859_1).toLowerCase();
                int at = text.indexOf("content-length:");
                int length = at < 0 ? 0 : Integer.parseInt(text.substring(at + 15, text.indexOf("\r\n", at)).trim());
                in.readNBytes(length);
                requests.incrementAndGet();
                return true;
            }
        }
        return false;
    }

    /** A chunked SSE response carrying {@link #STREAM}. */
    private static void writeStream(OutputStream out) throws IOException {
        byte[] body = STREAM.getBytes(StandardCharsets.UTF_8);
        out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n"
                + Integer.toHexString(body.length) + "\r\n").getBytes(StandardCharsets.ISO_8859_1));
        out.write(body);
        out.write("\r\n0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        out.flush();
    }

    private OpenAiClient client(Duration timeout) {
        return new OpenAiClient(URI.create("http://127.0.0.1:" + listener.getLocalPort()), null, timeout,
                System::nanoTime);
    }

    private URI completions() {
        return URI.create("http://127.0.0.1:" + listener.getLocalPort() + "/v1/completions");
    }

    private static ObjectNode body() {
        return new ObjectMapper().createObjectNode().put("prompt", "x y z").put("stream", true);
    }

    @Test
    void aServerThatClosesEachConnectionAfterItsStream_losesNoRequest() {
        // One response per connection, then a silent close (no "Connection: close"): the pooled connection the
        // client keeps is dead when the next request is written on it.
        serve((in, out) -> {
            if (readRequest(in)) {
                writeStream(out);
            }
        });
        try (OpenAiClient client = client(Duration.ofSeconds(10))) {
            for (int i = 0; i < 5; i++) {
                RequestRecord record = client.call(completions(), body(), true, false).run();
                assertNull(record.error(), "request " + i + ": " + record.error());
                assertEquals(" a b", record.text());
                assertEquals(2, record.outputTokens());
            }
        }
        assertEquals(5, requests.get(), "each request reached the server once");
    }

    @Test
    void aKeptAliveConnection_servesEveryRequest() {
        serve((in, out) -> {
            while (readRequest(in)) {
                writeStream(out);
            }
        });
        try (OpenAiClient client = client(Duration.ofSeconds(10))) {
            for (int i = 0; i < 5; i++) {
                assertNull(client.call(completions(), body(), true, false).run().error());
            }
        }
        assertEquals(1, connections.get(), "one connection, reused");
        assertEquals(5, requests.get());
    }

    @Test
    void abort_endsARequestWhoseStreamStalls() throws Exception {
        CountDownLatch headersSent = new CountDownLatch(1);
        serve((in, out) -> {
            if (readRequest(in)) {
                out.write(("HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nTransfer-Encoding: chunked\r\n\r\n")
                        .getBytes(StandardCharsets.ISO_8859_1));
                out.flush();
                headersSent.countDown();
                in.read(); // until the client closes the connection
            }
        });
        try (OpenAiClient client = client(Duration.ofSeconds(60))) {
            OpenAiClient.Call call = client.call(completions(), body(), true, false);
            var result = new CompletableFuture<RequestRecord>();
            Thread.ofPlatform().daemon().start(() -> result.complete(call.run()));
            assertTrue(headersSent.await(10, TimeUnit.SECONDS));
            call.abort();
            RequestRecord record = result.get(10, TimeUnit.SECONDS);
            assertEquals(ErrorKind.CONNECTION.key(), record.error());
        }
    }

    @Test
    void aStalledRead_endsAtTheTimeout() {
        serve((in, out) -> {
            if (readRequest(in)) {
                in.read(); // never answers
            }
        });
        try (OpenAiClient client = client(Duration.ofMillis(300))) {
            RequestRecord record = client.call(completions(), body(), true, false).run();
            assertEquals(ErrorKind.TIMEOUT.key(), record.error());
        }
        assertEquals(1, requests.get(), "a timed-out request is not sent again");
    }
}
