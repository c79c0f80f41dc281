package dev.ultrakv.kvcache.tier;

import io.lettuce.core.KeyValue;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@link WindowedMget} against a real redis-server: order, gaps, and the commands it sends. */
class WindowedMgetTest {
    @RegisterExtension
    static final RedisWithClient server = new RedisWithClient();

    @BeforeEach
    void emptyServer() {
        sync().flushall();
        sync().configResetstat();
    }

    private static RedisCommands<byte[], byte[]> sync() {
        return server.connection().sync();
    }

    private static byte[] key(int i) {
        return ("k" + i).getBytes(StandardCharsets.UTF_8);
    }

    private static byte[][] keys(int n) {
        byte[][] keys = new byte[n][];
        for (int i = 0; i < n; i++) {
            keys[i] = key(i);
        }
        return keys;
    }

    private static List<KeyValue<byte[], byte[]>> read(byte[][] keys) throws Exception {
        return WindowedMget.read(server.connection().async(), keys).get(5, TimeUnit.SECONDS);
    }

    /** {@code MGET} calls the server has answered since the last reset. */
    private static long mgetCalls() {
        String stats = new String(sync().info("commandstats").getBytes(StandardCharsets.UTF_8), StandardCharsets.UTF_8);
        for (String line : stats.split("\r?\n")) {
            if (line.startsWith("cmdstat_mget:")) {
                return Long.parseLong(line.substring(line.indexOf("calls=") + 6, line.indexOf(',')));
            }
        }
        return 0;
    }

    @Test
    void everyRunLengthComesBackInOrder() throws Exception {
        for (int i = 0; i < 11; i++) {
            sync().set(key(i), ("value " + i).getBytes(StandardCharsets.UTF_8));
        }
        for (int n = 0; n <= 11; n++) {
            List<KeyValue<byte[], byte[]>> values = read(keys(n));
            assertEquals(n, values.size(), "a run of " + n);
            for (int i = 0; i < n; i++) {
                assertArrayEquals(key(i), values.get(i).getKey());
                assertArrayEquals(("value " + i).getBytes(StandardCharsets.UTF_8), values.get(i).getValue());
            }
        }
    }

    @Test
    void aMissingKeyStopsTheReadsAfterTheChunksInFlight() throws Exception {
        int length = 40;
        for (int i = 0; i < length; i++) {
            if (i != 5) {
                sync().set(key(i), new byte[] {(byte) i});
            }
        }
        List<KeyValue<byte[], byte[]>> values = read(keys(length));
        assertTrue(values.size() >= 6, "the gap's chunk is read: " + values.size());
        assertFalse(values.get(5).hasValue());
        for (int i = 0; i < 5; i++) {
            assertArrayEquals(new byte[] {(byte) i}, values.get(i).getValue());
        }
        long chunksToTheGap = 5 / WindowedMget.CHUNK_KEYS + 1;
        assertTrue(mgetCalls() <= chunksToTheGap + WindowedMget.WINDOW,
                mgetCalls() + " MGETs for a gap in chunk " + chunksToTheGap);
        assertTrue(values.size() < length, "nothing past the window is asked for");
    }

    @Test
    void aLongRunIsAskedForInSmallMgets() throws Exception {
        int length = 64;
        for (int i = 0; i < length; i++) {
            sync().set(key(i), new byte[1024]);
        }
        assertEquals(length, read(keys(length)).size());
        assertEquals(Math.ceilDiv(length, WindowedMget.CHUNK_KEYS), mgetCalls());
    }

    @Test
    void aFailedCommandFailsTheRead() {
        var closedClient = RedisClient.create(server.uri());
        StatefulRedisConnection<byte[], byte[]> closed = closedClient.connect(ByteArrayCodec.INSTANCE);
        closed.close();
        try {
            var failure = assertThrows(ExecutionException.class,
                    () -> WindowedMget.read(closed.async(), keys(8)).get(5, TimeUnit.SECONDS));
            assertTrue(failure.getCause() instanceof RuntimeException, failure.getCause().toString());
        } finally {
            closedClient.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
    }
}
