package dev.ultrakv.kvcache.tier;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Set;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A {@link KvTier} over a map in memory, for tests of the engine's side of the tiers: two tiers over one
 * {@link Store} are two engines sharing one Redis. It can misbehave on request: fail every load, corrupt what it
 * returns (without checking, as a broken tier would, so that the engine's own check is what catches it), or hold
 * every load's future until the test releases it (a slow tier). Writes are stored at once.
 */
public final class InMemoryKvTier implements KvTier {
    /** What the tiers over it share: the records by key. */
    public static final class Store {
        final Map<BlockKey, byte[]> records = new ConcurrentHashMap<>();

        /** Records stored. */
        public int size() {
            return records.size();
        }
    }

    /** How the tier answers loads. */
    public enum Mode {
        /** Returns the leading run of stored records. */
        NORMAL,
        /** Fails every load's future. */
        FAILING,
        /** Returns the stored records with a byte of each payload flipped, unchecked. */
        CORRUPTING,
        /** Holds every load's future until {@link #releaseHeld()}. */
        HOLDING
    }

    private final Store store;
    private volatile Mode mode = Mode.NORMAL;
    private final List<Runnable> held = new CopyOnWriteArrayList<>();
    private final AtomicLong hits = new AtomicLong();
    private final AtomicLong misses = new AtomicLong();
    private final AtomicLong written = new AtomicLong();
    private final AtomicLong bytesWritten = new AtomicLong();
    private final AtomicLong bytesRead = new AtomicLong();
    private final AtomicLong errors = new AtomicLong();
    private final AtomicLong offers = new AtomicLong();
    private final AtomicLong loads = new AtomicLong();
    /** The arrays loads returned that have not come back through {@link #recycle}. */
    private final Set<byte[]> handedOut =
            Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));
    private final AtomicLong recycled = new AtomicLong();
    private final AtomicLong wrongRecycles = new AtomicLong();
    private volatile boolean closed;

    public InMemoryKvTier(Store store) {
        this.store = store;
    }

    /** Changes how later loads are answered. */
    public InMemoryKvTier mode(Mode mode) {
        this.mode = mode;
        return this;
    }

    /** Completes every held load with what the store holds now. */
    public void releaseHeld() {
        for (Runnable r : held) {
            held.remove(r);
            r.run();
        }
    }

    /** Loads held now. */
    public int heldLoads() {
        return held.size();
    }

    /** Calls of {@link #offer}, accepted or not. */
    public long offers() {
        return offers.get();
    }

    /** Records given back through {@link #recycle}, each one this tier handed out and not given back before. */
    public long recycled() {
        return recycled.get();
    }

    /** Arrays given back that this tier never handed out, or gave back twice: the engine's fault if not zero. */
    public long wrongRecycles() {
        return wrongRecycles.get();
    }

    /** Calls of {@link #loadRun}. */
    public long loads() {
        return loads.get();
    }

    public boolean isClosed() {
        return closed;
    }

    @Override
    public String name() {
        return "memory";
    }

    @Override
    public boolean offer(BlockKey key, byte[] record) {
        offers.incrementAndGet();
        if (closed) {
            return false;
        }
        store.records.put(key, record.clone());
        written.incrementAndGet();
        bytesWritten.addAndGet(record.length);
        return true;
    }

    @Override
    public CompletableFuture<List<byte[]>> loadRun(List<BlockKey> keys) {
        loads.incrementAndGet();
        List<BlockKey> asked = List.copyOf(keys);
        return switch (mode) {
            case FAILING -> {
                errors.incrementAndGet();
                yield CompletableFuture.failedFuture(new java.io.IOException("tier down"));
            }
            case HOLDING -> {
                CompletableFuture<List<byte[]>> future = new CompletableFuture<>();
                held.add(() -> future.complete(run(asked, false)));
                yield future;
            }
            case CORRUPTING -> CompletableFuture.completedFuture(run(asked, true));
            case NORMAL -> CompletableFuture.completedFuture(run(asked, false));
        };
    }

    private List<byte[]> run(List<BlockKey> keys, boolean corrupt) {
        List<byte[]> found = new ArrayList<>();
        for (BlockKey key : keys) {
            byte[] record = store.records.get(key);
            if (record == null) {
                misses.incrementAndGet();
                break;
            }
            byte[] copy = record.clone();
            if (corrupt) {
                copy[BlockRecord.payloadOffset(copy) + 3] ^= 0x10;
            }
            found.add(copy);
            handedOut.add(copy);
            hits.incrementAndGet();
            bytesRead.addAndGet(copy.length);
        }
        return found;
    }

    @Override
    public void recycle(byte[] record) {
        (handedOut.remove(record) ? recycled : wrongRecycles).incrementAndGet();
    }

    @Override
    public TierStats stats() {
        return new TierStats(name(), hits.get(), misses.get(), written.get(), bytesWritten.get(), bytesRead.get(),
                0, errors.get(), 0, Duration.ZERO, Duration.ZERO);
    }

    @Override
    public void close() {
        closed = true;
        releaseHeld();
    }
}
