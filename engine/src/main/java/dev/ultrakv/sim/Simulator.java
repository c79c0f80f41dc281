package dev.ultrakv.sim;

import dev.ultrakv.kvcache.index.PrefixIndex;
import dev.ultrakv.kvcache.index.PrefixMatch;
import dev.ultrakv.kvcache.policy.BlockEntry;
import dev.ultrakv.kvcache.policy.EvictionPolicies;
import dev.ultrakv.kvcache.policy.EvictionPolicy;
import dev.ultrakv.kvcache.policy.ForwardingPolicy;
import dev.ultrakv.kvcache.policy.LruPolicy;
import dev.ultrakv.kvcache.policy.OptimalPolicy;
import dev.ultrakv.kvcache.policy.PolicyKind;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;

/**
 * Replays workloads through the very {@link PrefixIndex} and policies the engine uses, with a
 * {@link BlockCounter} for a pool and no model, and reports hit rates per workload, policy and cache size. Besides
 * the engine's policies it runs {@link PolicyKind#OPTIMAL}, Belady's offline optimum, from the workload's future
 * ({@link FutureUses}) as the reference they are measured against.
 *
 * <p>Each request follows the engine's sequence: match and pin its prompt, allocate the blocks it lacks
 * (evicting when the pool is empty), insert its prompt and output with its block table, unpin. Requests run one
 * at a time, so only the running request's blocks are pinned. Every replay ends with the index's invariant check.
 *
 * <p>From the command line: {@code ultrakv simulate}.
 */
public final class Simulator {
    /** Model identity of every simulated request. */
    public static final String MODEL_ID = "sim";
    /** Seed of the named workloads unless given. */
    public static final long DEFAULT_SEED = 42;
    /** Cache sizes unless given: shares of each workload's working set, where eviction decides most. */
    public static final List<Capacity> DEFAULT_CAPACITIES = List.of(new Capacity.Share(0.01),
            new Capacity.Share(0.02), new Capacity.Share(0.05), new Capacity.Share(0.10), new Capacity.Share(0.20));

    /** Name of the shipped Mooncake excerpt among the built-in workloads. */
    public static final String MOONCAKE_EXCERPT = "mooncake-excerpt";
    /** The built-in workloads: every named synthetic workload, then the shipped Mooncake excerpt. */
    public static final List<String> BUILT_IN_WORKLOADS = Stream.concat(Workloads.NAMES.stream(),
            Stream.of(MOONCAKE_EXCERPT)).toList();

    private Simulator() {
    }

    /**
     * The built-in workload called {@code name}: a {@link Workloads#named} one of {@code requests} requests, or
     * the Mooncake excerpt (its own 300 requests).
     *
     * @throws IllegalArgumentException for an unknown name, listing the known ones
     */
    public static Workload builtIn(String name, int requests, long seed) {
        if (name.trim().equalsIgnoreCase(MOONCAKE_EXCERPT)) {
            return MooncakeTrace.excerpt();
        }
        try {
            return Workloads.named(name, requests, seed);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown workload '" + name + "' (expected one of "
                    + BUILT_IN_WORKLOADS + " or repeats(r))", e);
        }
    }

    /** Every workload through every policy at every capacity (blocks); rows by workload, capacity, policy. */
    public static SimulationReport run(List<Workload> workloads, List<PolicyKind> policies, int[] capacities) {
        return run(workloads, policies, Arrays.stream(capacities).<Capacity>mapToObj(Capacity.Blocks::new).toList());
    }

    /** Every workload through every policy at every capacity; rows ordered by workload, capacity, policy. */
    public static SimulationReport run(List<Workload> workloads, List<PolicyKind> policies,
                                       List<Capacity> capacities) {
        return run(workloads, policies, capacities, null);
    }

    /**
     * As {@link #run(List, List, List)}, and where {@code disk} is given, each memory size again with a disk tier
     * of that size behind it (issue 14's tiers: written through, read after the memory prefix): the rows of memory
     * alone, then those with the disk, at each capacity.
     */
    public static SimulationReport run(List<Workload> workloads, List<PolicyKind> policies,
                                       List<Capacity> capacities, Capacity disk) {
        List<SimulationResult> rows = new ArrayList<>();
        for (Workload workload : workloads) {
            FutureUses future = futureUses(workload);
            for (Capacity capacity : capacities) {
                int blocks = capacity.blocksFor(future.uniqueBlocks());
                for (PolicyKind policy : policies) {
                    rows.add(replay(workload, future, policy, blocks, 0));
                }
                if (disk != null) {
                    int diskBlocks = disk.blocksFor(future.uniqueBlocks());
                    for (PolicyKind policy : policies) {
                        rows.add(replay(workload, future, policy, blocks, diskBlocks));
                    }
                }
            }
        }
        return new SimulationReport(rows);
    }

    /** One workload through one policy with a pool of {@code capacityBlocks}. */
    public static SimulationResult replay(Workload workload, PolicyKind policy, int capacityBlocks) {
        return replay(workload, futureUses(workload), policy, capacityBlocks, 0);
    }

    /** One workload through one policy with a pool of {@code capacityBlocks} and a disk tier of {@code diskBlocks}. */
    public static SimulationResult replay(Workload workload, PolicyKind policy, int capacityBlocks, int diskBlocks) {
        return replay(workload, futureUses(workload), policy, capacityBlocks, diskBlocks);
    }

    /** The distinct blocks {@code workload} computes with a cache that keeps everything. */
    public static int workingSetBlocks(Workload workload) {
        return futureUses(workload).uniqueBlocks();
    }

    private static SimulationResult replay(Workload workload, FutureUses future, PolicyKind kind,
                                           int capacityBlocks, int diskBlocks) {
        FutureUses.Clock clock = future.clock();
        EvictionPolicy policy = kind == PolicyKind.OPTIMAL ? new OptimalPolicy(clock)
                : EvictionPolicies.create(kind, capacityBlocks, workload.tokensPerBlock());
        return replay(workload, policy, capacityBlocks, clock, future.uniqueBlocks(),
                diskBlocks == 0 ? null : new DiskTierModel(diskBlocks));
    }

    /** Replays with room for every block, recording which request uses which block. */
    static FutureUses futureUses(Workload workload) {
        long blocks = 0;
        for (TraceRequest request : workload.requests()) {
            blocks += Math.ceilDiv(request.kvTokens(), workload.blockSize());
        }
        if (blocks > Integer.MAX_VALUE - 8) {
            throw new IllegalArgumentException(workload.name() + " has too many blocks to replay: " + blocks);
        }
        var recorder = new UseRecorder();
        replay(workload, recorder, (int) Math.max(1, blocks), recorder, 0, null);
        return FutureUses.of(recorder.keys, recorder.requests, recorder.count, recorder.inserted);
    }

    private static SimulationResult replay(Workload workload, EvictionPolicy policy, int capacityBlocks,
                                           RequestClock clock, int workingSetBlocks, DiskTierModel disk) {
        var pool = new BlockCounter(capacityBlocks);
        var index = new PrefixIndex(workload.blockSize(), policy, pool::free);
        int blockSize = workload.blockSize();
        long unfit = 0;
        long promptBlocks = 0;
        long cachedBlocks = 0;
        long promptTokens = 0;
        long cachedTokens = 0;
        long diskTokens = 0;
        int number = 0;
        for (TraceRequest request : workload.requests()) {
            clock.moveTo(number++);
            PrefixMatch match = index.match(MODEL_ID, request.prompt());
            index.pin(match);
            int blocksOfPrompt = Math.ceilDiv(request.prompt().length, blockSize);
            promptBlocks += blocksOfPrompt;
            promptTokens += request.promptTokens();
            int[] sequence = request.output().length == 0 ? request.prompt() : request.sequence();
            int kvTokens = request.kvTokens();
            // The keys of the full blocks the request writes; its prompt's lead them (one chain over one sequence).
            long[] keys = disk == null ? null : DiskTierModel.keys(sequence, kvTokens, blockSize);
            // The disk tier, asked for the prompt's full blocks after the memory prefix (as the engine asks its
            // tiers); what it has is promoted: the request computes only the rest, inserted as usual.
            int fromDisk = disk == null || match.isFullHit() ? 0
                    : disk.leadingRun(keys, match.fullBlockCount(), request.prompt().length / blockSize);
            if (match.isFullHit()) {
                cachedBlocks += blocksOfPrompt;
                cachedTokens += request.promptTokens();
            } else {
                int memoryTokens = match.cachedTokens();
                int cachedIndexTokens = Math.max(memoryTokens, (match.fullBlockCount() + fromDisk) * blockSize);
                cachedBlocks += cachedIndexTokens / blockSize;
                long memoryReal = Math.min(request.promptTokens(),
                        (long) memoryTokens * workload.tokensPerBlock() / blockSize);
                long real = Math.min(request.promptTokens(),
                        (long) cachedIndexTokens * workload.tokensPerBlock() / blockSize);
                cachedTokens += real;
                diskTokens += real - memoryReal;
            }
            int blocks = Math.ceilDiv(kvTokens, blockSize);
            int missing = blocks - match.fullBlockCount();
            if (pool.freeBlocks() < missing) {
                index.evict(missing - pool.freeBlocks());
            }
            if (pool.freeBlocks() < missing) {
                index.unpin(match);
                unfit++;
                continue;
            }
            int[] table = Arrays.copyOf(match.fullBlocks(), blocks);
            for (int i = match.fullBlockCount(); i < blocks; i++) {
                table[i] = pool.allocate();
            }
            index.insert(match, sequence, kvTokens, table);
            index.unpin(match);
            if (disk != null) {
                disk.writeThrough(keys);
            }
        }
        index.checkInvariants();
        if (pool.freeBlocks() + index.cachedBlocks() != capacityBlocks) {
            throw new IllegalStateException("blocks leaked: " + pool.freeBlocks() + " free + "
                    + index.cachedBlocks() + " cached != " + capacityBlocks);
        }
        var stats = index.stats();
        return new SimulationResult(workload.name(), policy.kind(), capacityBlocks, workingSetBlocks,
                stats.lookups(), stats.requestHits(), promptBlocks, cachedBlocks, promptTokens, cachedTokens,
                stats.evictedBlocks(), unfit, disk == null ? 0 : disk.capacity(), diskTokens);
    }

    /** Told the number of each request before it is replayed. */
    interface RequestClock {
        void moveTo(int request);
    }

    /**
     * LRU with room for everything that notes each block a request computes or reuses: the references
     * {@link FutureUses} is built from.
     */
    private static final class UseRecorder extends ForwardingPolicy implements RequestClock {
        long[] keys = new long[1024];
        int[] requests = new int[1024];
        int count;
        int inserted;
        int request;

        UseRecorder() {
            super(new LruPolicy());
        }

        @Override
        public void moveTo(int request) {
            this.request = request;
        }

        private void record(BlockEntry entry) {
            if (count == keys.length) {
                keys = Arrays.copyOf(keys, count * 2);
                requests = Arrays.copyOf(requests, count * 2);
            }
            keys[count] = entry.key();
            requests[count++] = request;
        }

        @Override
        public void onInsert(BlockEntry entry, boolean requested) {
            record(entry);
            inserted++;
            super.onInsert(entry, requested);
        }

        @Override
        public void onAccess(BlockEntry entry) {
            record(entry);
            super.onAccess(entry);
        }
    }
}
