package dev.ultrakv.kvcache.tier;

import io.lettuce.core.KeyValue;
import io.lettuce.core.api.async.RedisAsyncCommands;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Reads the values of a run of keys as {@code MGET}s of a few keys each, a bounded number of them in flight, and
 * stops asking once a key is missing: the values of the leading keys, in order, up to and including the first
 * chunk that had a gap (the caller uses the leading run of sound values).
 *
 * <p>Why not one {@code MGET} of the whole run: redis-server builds a reply in memory before it sends it, so a run
 * of 64 blocks of a megabyte was a 64 MiB reply, paid for in fresh pages on the server (on a 2-core VM the same
 * 64 MiB came back in 250-400 ms as one {@code MGET} or 64 pipelined {@code GET}s, in 25-65 ms with at most four
 * values outstanding). A window keeps each reply small while the socket stays busy, and a gap stops the reads that
 * could not be used anyway.
 */
final class WindowedMget {
    /** Keys per {@code MGET}. */
    static final int CHUNK_KEYS = 2;
    /** {@code MGET}s in flight at once. */
    static final int WINDOW = 2;

    /** The {@code MGET}s a read of {@code keys} keys sends at most. */
    static int commands(int keys) {
        return Math.max(1, Math.ceilDiv(keys, CHUNK_KEYS));
    }

    private final RedisAsyncCommands<byte[], byte[]> commands;
    private final byte[][] keys;
    /** Each chunk's values once read, null until then (and for the chunks never asked for). */
    private final List<List<KeyValue<byte[], byte[]>>> chunks;
    private final CompletableFuture<List<KeyValue<byte[], byte[]>>> result = new CompletableFuture<>();
    // Guarded by this: replies complete on the connection's event loop, the first chunks start on the caller.
    private int nextChunk;
    private int outstanding;
    private boolean stopped;

    private WindowedMget(RedisAsyncCommands<byte[], byte[]> commands, byte[][] keys) {
        this.commands = commands;
        this.keys = keys;
        this.chunks = new ArrayList<>(Collections.nCopies(Math.ceilDiv(keys.length, CHUNK_KEYS), null));
    }

    /**
     * Starts reading {@code keys}; the future completes with the values of the leading chunks read (fewer than
     * the keys when one was missing), or exceptionally with the first command's failure.
     */
    static CompletableFuture<List<KeyValue<byte[], byte[]>>> read(RedisAsyncCommands<byte[], byte[]> commands,
                                                                  byte[][] keys) {
        var read = new WindowedMget(commands, keys);
        read.start();
        return read.result;
    }

    private synchronized void start() {
        if (chunks.isEmpty()) {
            result.complete(List.of());
            return;
        }
        while (nextChunk < chunks.size() && nextChunk < WINDOW && !stopped) {
            issue(nextChunk++);
        }
    }

    private void issue(int chunk) {
        outstanding++;
        byte[][] slice = Arrays.copyOfRange(keys, chunk * CHUNK_KEYS, Math.min(keys.length, (chunk + 1) * CHUNK_KEYS));
        try {
            commands.mget(slice).whenComplete((values, failure) -> completed(chunk, values, failure));
        } catch (RuntimeException e) {
            completed(chunk, null, e);
        }
    }

    private synchronized void completed(int chunk, List<KeyValue<byte[], byte[]>> values, Throwable failure) {
        outstanding--;
        if (failure != null || values == null || values.size() != chunkLength(chunk)) {
            stopped = true;
            result.completeExceptionally(failure != null ? failure
                    : new IllegalStateException("MGET of " + chunkLength(chunk) + " keys answered "
                    + (values == null ? "nothing" : values.size() + " values")));
            return;
        }
        chunks.set(chunk, values);
        for (KeyValue<byte[], byte[]> value : values) {
            if (!value.hasValue()) {
                stopped = true;
                break;
            }
        }
        if (!stopped && nextChunk < chunks.size()) {
            issue(nextChunk++);
        }
        if (outstanding == 0 && !result.isDone()) {
            List<KeyValue<byte[], byte[]>> leading = new ArrayList<>(keys.length);
            for (List<KeyValue<byte[], byte[]>> read : chunks) {
                if (read == null) {
                    break;
                }
                leading.addAll(read);
            }
            result.complete(leading);
        }
    }

    private int chunkLength(int chunk) {
        return Math.min(CHUNK_KEYS, keys.length - chunk * CHUNK_KEYS);
    }
}
