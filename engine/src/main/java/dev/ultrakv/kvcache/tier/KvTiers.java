package dev.ultrakv.kvcache.tier;

import java.lang.foreign.MemorySegment;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;

/**
 * An engine's tiers below the memory pool, in order (e.g. disk, then Redis), and the engine's side of their
 * contract: which blocks are offered to which tier, how a run of blocks is looked up across them, and how what
 * came back is checked before it may become KV.
 *
 * <h2>Notes</h2>
 * <b>When a block is offered: write-through.</b> Every full block is offered to every tier when it enters the
 * prefix index (a request ends or is preempted, or a compressed one caches its prompt), not when it is evicted.
 * A shared Redis needs that: a second engine finds a prompt the first computed while it is still in the first
 * one's memory (LMCache stores on write for the same reason). Eviction then has nothing to hand down, so it stays
 * a plain free. A write a tier drops (its queue full) is not retried: the tier is behind, and the block is offered
 * again the next time it enters the index. Partial blocks stay in memory only: their key would change with every
 * token.
 *
 * <p><b>Never twice.</b> A key is offered to a tier only when the tier is not known to hold it ({@link KnownKeys},
 * bounded); a key is known once the tier accepted it or returned it, and forgotten when the tier misses it.
 *
 * <p><b>Loads.</b> One {@link KvTier#loadRun} per tier, in order, each for the keys the tiers before it did not
 * have; a tier that throws or whose future fails counts as having none. Every record is checked again here (key,
 * checksum, namespace, payload size), on the thread of the tier that answered, so a tier that breaks its contract
 * gives a recompute, never wrong KV, and the step loop only copies what passed.
 *
 * <p><b>Threads.</b> The step loop calls every method but {@link #close()} and the counters' getters, which any
 * thread may read. Tiers answer on their own threads; nothing here blocks on them.
 */
public final class KvTiers implements AutoCloseable {
    /** Keys remembered per tier as held: 64 K fingerprints, half a mebibyte, about 1 TB of float32 blocks. */
    static final int KNOWN_KEYS_PER_TIER = 1 << 16;
    private static final System.Logger LOG = System.getLogger("dev.ultrakv.kvcache.tier");

    private final List<KvTier> tiers;
    private final String namespace;
    private final int blockSize;
    private final long blockBytes;
    private final long loadTimeoutNanos;
    private final KnownKeys[] known;
    // Written by the step loop alone; volatile so that statistics read them from any thread.
    private volatile long loads;
    private volatile long promotedBlocks;
    private volatile long promotedTokens;
    private volatile long recomputedLoads;
    private volatile long rejectedRecords;
    private volatile long offeredBlocks;

    /**
     * @param tiers       the tiers in the order they are asked; owned from now on ({@link #close()} closes them)
     * @param namespace   the blocks' namespace ({@link BlockRecord#namespace}): model id and block layout
     * @param blockSize   positions per block
     * @param blockBytes  bytes of one block: a payload of another size is refused
     * @param loadTimeout how long a request waits for its load before it recomputes, whatever the tiers do
     */
    public KvTiers(List<KvTier> tiers, String namespace, int blockSize, long blockBytes, Duration loadTimeout) {
        this.tiers = List.copyOf(tiers);
        this.namespace = Objects.requireNonNull(namespace, "namespace");
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
        this.loadTimeoutNanos = loadTimeout.toNanos();
        this.known = new KnownKeys[this.tiers.size()];
        for (int t = 0; t < known.length; t++) {
            known[t] = new KnownKeys(KNOWN_KEYS_PER_TIER);
        }
    }

    /** No tiers: nothing is offered or loaded. */
    public static KvTiers none() {
        return new KvTiers(List.of(), "", 1, 1, Duration.ZERO);
    }

    /** Whether there is no tier. */
    public boolean isEmpty() {
        return tiers.isEmpty();
    }

    /** The tiers, in order. */
    public List<KvTier> tiers() {
        return tiers;
    }

    /** The namespace every key and record of these blocks carries. */
    public String namespace() {
        return namespace;
    }

    /** How long a load may take before the request recomputes, in nanoseconds. */
    public long loadTimeoutNanos() {
        return loadTimeoutNanos;
    }

    /** The keys of the first {@code fullBlocks} blocks of {@code tokens}. */
    public BlockKey[] keys(int[] tokens, int fullBlocks) {
        return BlockKey.chain(namespace, tokens, fullBlocks * blockSize, blockSize);
    }

    /**
     * Offers the block {@code key}, whose bytes are {@code payload}, to every tier not known to hold it. Encodes
     * the record (one copy of the block, on the caller's thread) only if some tier wants it; never waits.
     */
    public void offer(BlockKey key, MemorySegment payload) {
        byte[] record = null;
        for (int t = 0; t < tiers.size(); t++) {
            if (known[t].contains(key)) {
                continue;
            }
            if (record == null) {
                record = BlockRecord.encode(key, namespace, payload);
                offeredBlocks++;
            }
            boolean accepted;
            try {
                accepted = tiers.get(t).offer(key, record);
            } catch (RuntimeException e) {
                // A tier's fault must not fail the request whose blocks it was offered; the tier counts its own.
                LOG.log(System.Logger.Level.WARNING, "tier " + tiers.get(t).name() + " threw on offer", e);
                accepted = false;
            }
            if (accepted) {
                known[t].add(key);
            }
        }
    }

    /**
     * Starts looking up {@code keys}, the blocks of a prompt from {@code firstBlock} on, in every tier in turn.
     *
     * @param nowNanos the caller's clock, from which {@link #loadTimeoutNanos()} runs
     */
    public TierLoad load(BlockKey[] keys, int firstBlock, long nowNanos) {
        loads++;
        int n = keys.length;
        CompletableFuture<TierLoad.Run> run = CompletableFuture.completedFuture(TierLoad.Run.empty(tiers.size()));
        for (int t = 0; t < tiers.size(); t++) {
            int tier = t;
            run = run.thenCompose(found -> found.records().size() == n ? CompletableFuture.completedFuture(found)
                    : ask(tier, keys, found));
        }
        return new TierLoad(keys.clone(), firstBlock, nowNanos, run);
    }

    private CompletableFuture<TierLoad.Run> ask(int tier, BlockKey[] keys, TierLoad.Run found) {
        List<BlockKey> rest = List.of(keys).subList(found.records().size(), keys.length);
        CompletableFuture<List<byte[]>> answer;
        try {
            answer = Objects.requireNonNull(tiers.get(tier).loadRun(rest), "loadRun returned null");
        } catch (RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, "tier " + tiers.get(tier).name() + " threw on loadRun", e);
            answer = CompletableFuture.completedFuture(List.of());
        }
        return answer.handle((records, e) -> checked(found.plus(tier,
                e != null || records == null ? List.of() : records, rest.size()), keys, found.records().size()));
    }

    /**
     * {@code run} with its records from {@code from} on checked (key, checksum, namespace, payload size), on the
     * tier's thread that answered: a check of a long run's records (75 MB for 1024 float32 tokens of a 110M model,
     * 3-5 ms) is not the step loop's, which every running request waits for. The first record that fails ends the
     * usable run; {@link #payloads} counts and logs it.
     */
    private TierLoad.Run checked(TierLoad.Run run, BlockKey[] keys, int from) {
        if (run.refusedAt() >= 0) {
            return run; // the usable run ended before these records
        }
        for (int i = from; i < run.records().size(); i++) {
            String problem = problem(run.records().get(i), keys[i]);
            if (problem != null) {
                return run.refusing(i, problem);
            }
        }
        return run;
    }

    private String problem(byte[] record, BlockKey key) {
        String problem = BlockRecord.problem(record, key);
        if (problem == null && !BlockRecord.namespaceOf(record).equals(namespace)) {
            problem = "namespace \"" + BlockRecord.namespaceOf(record) + "\", this engine's is \"" + namespace + "\"";
        }
        if (problem == null && BlockRecord.payloadBytes(record) != blockBytes) {
            problem = "a payload of " + BlockRecord.payloadBytes(record) + " bytes, a block has " + blockBytes;
        }
        return problem;
    }

    /**
     * The payloads of a finished load's leading run of sound records, in prompt order from
     * {@link TierLoad#firstBlock()}; empty if the load has not finished (it timed out). A record that fails its
     * check (key, checksum, namespace, payload size) ends the run and is counted. Updates which keys each tier is
     * known to hold.
     */
    public List<MemorySegment> payloads(TierLoad load) {
        TierLoad.Run run = load.run.getNow(null);
        if (run == null || load.released) {
            return List.of();
        }
        List<MemorySegment> payloads = new ArrayList<>(run.records().size());
        int[] tierOf = new int[run.records().size()];
        int i = 0;
        for (int t = 0; t < tiers.size(); t++) {
            int end = i + run.fromTier()[t];
            for (; i < end; i++) {
                known[t].add(load.key(i));
                tierOf[i] = t;
            }
            if (run.asked()[t] && end < load.blocksAsked()) {
                known[t].forget(load.key(end));
            }
        }
        int usable = run.refusedAt() >= 0 ? run.refusedAt() : run.records().size();
        for (i = 0; i < usable; i++) {
            payloads.add(BlockRecord.payload(run.records().get(i)));
        }
        if (run.refusedAt() >= 0) {
            rejectedRecords++;
            known[tierOf[usable]].forget(load.key(usable));
            LOG.log(System.Logger.Level.WARNING, "block " + load.key(usable) + " from a tier refused: "
                    + run.refusal());
        }
        return payloads;
    }

    /**
     * Gives a finished load's records back to the tiers they came from ({@link KvTier#recycle}), once what
     * {@link #payloads} returned has been copied or is not wanted: the views it returned must not be read
     * afterwards, and the load yields no payloads any more. Does nothing for a load that has not finished or was
     * released already.
     */
    public void release(TierLoad load) {
        TierLoad.Run run = load.run.getNow(null);
        if (run == null || load.released) {
            return;
        }
        load.released = true;
        int i = 0;
        for (int t = 0; t < tiers.size(); t++) {
            for (int end = i + run.fromTier()[t]; i < end; i++) {
                try {
                    tiers.get(t).recycle(run.records().get(i));
                } catch (RuntimeException e) {
                    LOG.log(System.Logger.Level.WARNING, "tier " + tiers.get(t).name() + " threw on recycle", e);
                }
            }
        }
    }

    /** Counts {@code blocks} blocks brought back into memory. */
    public void countPromoted(int blocks) {
        promotedBlocks += blocks;
        promotedTokens += (long) blocks * blockSize;
    }

    /** Counts a load whose blocks (some or all) were found but not used: the request recomputes them. */
    public void countRecomputed() {
        recomputedLoads++;
    }

    /** Loads started. */
    public long loads() {
        return loads;
    }

    /** Blocks brought back from the tiers into memory. */
    public long promotedBlocks() {
        return promotedBlocks;
    }

    /** Prompt positions of those blocks. */
    public long promotedTokens() {
        return promotedTokens;
    }

    /**
     * Loads that fell back to recomputing: they timed out, a record failed its check, or the pool had no room for
     * what was found.
     */
    public long recomputedLoads() {
        return recomputedLoads;
    }

    /** Records refused by the engine's own check (a tier should have caught them). */
    public long rejectedRecords() {
        return rejectedRecords;
    }

    /** Blocks offered (encoded as a record for at least one tier). */
    public long offeredBlocks() {
        return offeredBlocks;
    }

    /** What each tier has done so far, in order. */
    public List<TierStats> stats() {
        List<TierStats> stats = new ArrayList<>(tiers.size());
        for (KvTier tier : tiers) {
            stats.add(tier.stats());
        }
        return stats;
    }

    /** Closes every tier (each gets its turn even when one throws). */
    @Override
    public void close() {
        closeAll(tiers);
    }

    /** Closes each of {@code tiers}, logging what throws: tiers handed over to something that failed to start. */
    public static void closeAll(List<KvTier> tiers) {
        for (KvTier tier : tiers) {
            try {
                tier.close();
            } catch (RuntimeException e) {
                LOG.log(System.Logger.Level.WARNING, "tier " + tier.name() + " failed to close", e);
            }
        }
    }
}
