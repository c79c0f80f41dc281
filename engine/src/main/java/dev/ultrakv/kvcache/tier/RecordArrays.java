package dev.ultrakv.kvcache.tier;

import java.util.ArrayDeque;
import java.util.Collections;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.Map;
import java.util.Set;

/**
 * The arrays a tier reads records into, kept for the next load once the engine has copied a record's payload into
 * its pool ({@link KvTier#recycle}), up to a bound in bytes.
 *
 * <p>Why: a 1024-token prompt of a 110M-parameter model is 75 MB of float32 records. Read into fresh arrays, every
 * load touched 75 MB of heap the process had not touched yet, and on this project's virtual machines a first touch
 * costs a page fault each 4 KiB: with a young generation large enough that a load collected nothing, a Redis load
 * took 200-300 ms, against 25-50 ms into memory already touched. With a small one, young collections copied the
 * records a load still held (50-230 ms pauses, which stop the step loop and every running request with it). Arrays
 * kept here are touched once and, once old, never copied again.
 *
 * <p>Nothing depends on an array coming back: one a caller drops (a load timed out, a request cancelled while
 * loading) is collected as any garbage, and the next load allocates. Arrays are kept by exact length: one engine's
 * records all have one length (its block layout and namespace), so a tier shared by engines keeps a list per
 * engine. Thread-safe: tiers fill arrays on their own threads, the step loop gives them back.
 */
final class RecordArrays {
    private final long maxKeptBytes;
    private final Map<Integer, ArrayDeque<byte[]>> kept = new HashMap<>();
    /** The arrays in {@link #kept}: one given back twice must not be handed out to two loads. */
    private final Set<byte[]> keptArrays = Collections.newSetFromMap(new IdentityHashMap<>());
    private long keptBytes;

    /** @param maxKeptBytes bytes of arrays kept at most; 0 keeps none (every load allocates) */
    RecordArrays(long maxKeptBytes) {
        if (maxKeptBytes < 0) {
            throw new IllegalArgumentException("bytes of record arrays kept must be >= 0: " + maxKeptBytes);
        }
        this.maxKeptBytes = maxKeptBytes;
    }

    /** The default bound: an eighth of the heap, at most 256 MiB (three such prompts of float32 blocks). */
    static long defaultMaxKeptBytes() {
        return Math.min(256L << 20, Runtime.getRuntime().maxMemory() / 8);
    }

    /** An array of exactly {@code length} bytes, kept from an earlier load or new; its contents are undefined. */
    byte[] take(int length) {
        synchronized (this) {
            ArrayDeque<byte[]> arrays = kept.get(length);
            if (arrays != null) {
                byte[] array = arrays.pollLast();
                if (arrays.isEmpty()) {
                    kept.remove(length);
                }
                keptArrays.remove(array);
                keptBytes -= length;
                return array;
            }
        }
        return new byte[length];
    }

    /** Keeps {@code array} for a later {@link #take} if the bound allows; the caller must not touch it again. */
    synchronized void give(byte[] array) {
        if (array.length == 0 || keptBytes + array.length > maxKeptBytes || !keptArrays.add(array)) {
            return;
        }
        kept.computeIfAbsent(array.length, length -> new ArrayDeque<>()).addLast(array);
        keptBytes += array.length;
    }

    /** Bytes of arrays kept now. */
    synchronized long keptBytes() {
        return keptBytes;
    }
}
