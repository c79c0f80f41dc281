package dev.ultrakv.kvcache.tier;

import org.junit.jupiter.api.Assumptions;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * A real {@code redis-server} for tests, on a free loopback port, with no persistence and its files in a test's
 * temporary directory. It can be stopped, restarted on the same port and paused (SIGSTOP, a server that is up
 * but does not answer); {@link #close} always stops it.
 *
 * <p>Without {@code redis-server} on the machine the tests fail with a message saying to install it, unless
 * {@code ULTRAKV_SKIP_REDIS=1}, which skips them.
 */
final class RedisServerProcess implements AutoCloseable {
    private static final Duration START_WAIT = Duration.ofSeconds(10);
    private static final Duration STOP_WAIT = Duration.ofSeconds(5);

    private final Path executable;
    private final Path directory;
    private final int port;
    private final List<String> settings;
    private Process process;
    private boolean paused;

    private RedisServerProcess(Path executable, Path directory, int port, List<String> settings) {
        this.executable = executable;
        this.directory = directory;
        this.port = port;
        this.settings = settings;
    }

    /**
     * A server on a free port, started and answering.
     *
     * @param settings more redis-server arguments, e.g. {@code "--requirepass", "secret"}
     */
    static RedisServerProcess start(Path directory, String... settings) {
        RedisServerProcess server = new RedisServerProcess(executable(), directory, freePort(), List.of(settings));
        server.start();
        return server;
    }

    /** A server on a free port that has not started yet (a tier may connect to it while it is down). */
    static RedisServerProcess notStarted(Path directory) {
        return new RedisServerProcess(executable(), directory, freePort(), List.of());
    }

    /** The loopback port it listens on (also while stopped). */
    int port() {
        return port;
    }

    /** The tier URI of this server (database 0). */
    String uri() {
        return "redis://127.0.0.1:" + port + "/0";
    }

    /** Starts the server (again, on the same port) and waits until it answers {@code PING}. */
    void start() {
        if (process != null && process.isAlive()) {
            throw new IllegalStateException("redis-server on port " + port + " is already running");
        }
        List<String> command = new ArrayList<>(List.of(executable.toString(), "--port", Integer.toString(port),
                "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--dir", directory.toString(),
                "--daemonize", "no"));
        command.addAll(settings);
        try {
            process = new ProcessBuilder(command)
                    .redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(directory.resolve("redis.log").toFile()))
                    .start();
        } catch (IOException e) {
            throw new IllegalStateException("cannot start " + executable, e);
        }
        long deadline = System.nanoTime() + START_WAIT.toNanos();
        while (!answersPing()) {
            if (!process.isAlive() || System.nanoTime() > deadline) {
                String log = readLog();
                stop();
                fail("redis-server on port " + port + " did not start; its log:\n" + log);
            }
            sleep(20);
        }
    }

    /** Stops the server (SIGTERM, then SIGKILL if it lingers) and waits until it has exited. */
    void stop() {
        if (process == null) {
            return;
        }
        resume();
        process.destroy();
        try {
            if (!process.waitFor(STOP_WAIT.toMillis(), TimeUnit.MILLISECONDS)) {
                process.destroyForcibly().waitFor(STOP_WAIT.toMillis(), TimeUnit.MILLISECONDS);
            }
        } catch (InterruptedException e) {
            process.destroyForcibly();
            Thread.currentThread().interrupt();
        }
        process = null;
    }

    /** Freezes the server (SIGSTOP): connections stay open, nothing is answered. */
    void pause() {
        signal("-STOP");
        paused = true;
    }

    /** Lets a paused server run again. */
    void resume() {
        if (paused) {
            signal("-CONT");
            paused = false;
        }
    }

    @Override
    public void close() {
        stop();
    }

    private void signal(String signal) {
        try {
            Process kill = new ProcessBuilder("kill", signal, Long.toString(process.pid())).inheritIO().start();
            if (kill.waitFor() != 0) {
                throw new IllegalStateException("kill " + signal + " " + process.pid() + " failed");
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot signal redis-server", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted signalling redis-server", e);
        }
    }

    private boolean answersPing() {
        try (Socket socket = new Socket()) {
            socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
            socket.setSoTimeout(500);
            OutputStream out = socket.getOutputStream();
            out.write("PING\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
            InputStream in = socket.getInputStream();
            String reply = new String(in.readNBytes(7), StandardCharsets.US_ASCII);
            // A server that wants a password answers, with a refusal.
            return reply.equals("+PONG\r\n") || reply.startsWith("-NOAUTH");
        } catch (IOException e) {
            return false;
        }
    }

    private String readLog() {
        try {
            return Files.readString(directory.resolve("redis.log"));
        } catch (IOException e) {
            return "(no log: " + e.getMessage() + ")";
        }
    }

    private static Path executable() {
        for (String candidate : List.of("/usr/bin/redis-server", "/usr/local/bin/redis-server",
                "/usr/sbin/redis-server")) {
            if (Files.isExecutable(Path.of(candidate))) {
                return Path.of(candidate);
            }
        }
        String path = System.getenv().getOrDefault("PATH", "");
        for (String dir : path.split(java.io.File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, "redis-server"))) {
                return Path.of(dir, "redis-server");
            }
        }
        if ("1".equals(System.getenv("ULTRAKV_SKIP_REDIS"))) {
            Assumptions.abort("redis-server is not installed and ULTRAKV_SKIP_REDIS=1: Redis tests skipped");
        }
        return fail("the Redis tier tests need a real redis-server and none is installed: install Debian's"
                + " package (apt-get install redis-server; .ci/run does), or set ULTRAKV_SKIP_REDIS=1 to skip them");
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new IllegalStateException("no free loopback port", e);
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted waiting for redis-server", e);
        }
    }
}
