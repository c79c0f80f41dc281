package dev.ultrakv.sim;

import dev.ultrakv.kvcache.index.PrefixIndex;
import dev.ultrakv.kvcache.index.PrefixIndexStats;
import dev.ultrakv.kvcache.index.PrefixMatch;
import dev.ultrakv.kvcache.policy.EvictionPolicies;
import dev.ultrakv.kvcache.policy.PolicyKind;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * Replays workloads through the very {@link PrefixIndex} and policies the engine uses, with a
 * {@link BlockCounter} for a pool and no model, and reports hit rates per workload, policy and cache size.
 *
 * <p>Each request follows the engine's sequence: match and pin its prompt, allocate the blocks it lacks
 * (evicting when the pool is empty), insert its prompt and output with its block table, unpin. Requests run one
 * at a time, so only the running request's blocks are pinned. Every replay ends with the index's invariant check.
 *
 * <p>Run it from the engine module: {@code java -cp engine/target/classes dev.ultrakv.sim.Simulator --help}.
 */
public final class Simulator {
    /** Model identity of every simulated request. */
    public static final String MODEL_ID = "sim";
    /** Seed of the named workloads unless given. */
    public static final long DEFAULT_SEED = 42;
    /** Cache sizes in blocks for the synthetic workloads (16-token blocks) unless given. */
    public static final int[] DEFAULT_CAPACITIES = {64, 128, 256, 512};
    /** Cache sizes in blocks (512 tokens each) for Mooncake traces unless given. */
    public static final int[] DEFAULT_TRACE_CAPACITIES = {500, 1000, 2000, 4000};

    private Simulator() {
    }

    /** Every workload through every policy at every capacity; rows ordered by workload, capacity, policy. */
    public static SimulationReport run(List<Workload> workloads, List<PolicyKind> policies, int[] capacities) {
        List<SimulationResult> rows = new ArrayList<>();
        for (Workload workload : workloads) {
            for (int capacity : capacities) {
                for (PolicyKind policy : policies) {
                    rows.add(replay(workload, policy, capacity));
                }
            }
        }
        return new SimulationReport(rows);
    }

    /** One workload through one policy with a pool of {@code capacityBlocks}. */
    public static SimulationResult replay(Workload workload, PolicyKind policy, int capacityBlocks) {
        var pool = new BlockCounter(capacityBlocks);
        var index = new PrefixIndex(workload.blockSize(),
                EvictionPolicies.create(policy, capacityBlocks, workload.tokensPerBlock()), pool::free);
        int blockSize = workload.blockSize();
        long unfit = 0;
        for (TraceRequest request : workload.requests()) {
            PrefixMatch match = index.match(MODEL_ID, request.prompt());
            index.pin(match);
            int kvTokens = request.kvTokens();
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
            int[] sequence = request.output().length == 0 ? request.prompt() : request.sequence();
            index.insert(match, sequence, kvTokens, table);
            index.unpin(match);
        }
        index.checkInvariants();
        if (pool.freeBlocks() + index.cachedBlocks() != capacityBlocks) {
            throw new IllegalStateException("blocks leaked: " + pool.freeBlocks() + " free + "
                    + index.cachedBlocks() + " cached != " + capacityBlocks);
        }
        PrefixIndexStats stats = index.stats();
        return new SimulationResult(workload.name(), policy, capacityBlocks, stats.lookups(), stats.requestHits(),
                stats.lookupTokens(), stats.cachedTokens(), stats.evictedBlocks(), unfit);
    }

    /**
     * Command line: {@code [--workloads a,b,...] [--policies lru,lfu,adaptive] [--capacities 64,128,...]
     * [--requests N] [--seed S] [--trace PATH|excerpt|none] [--trace-capacities 500,1000,...] [--csv]}.
     */
    public static void main(String[] args) throws IOException {
        List<String> names = Workloads.NAMES;
        List<PolicyKind> policies = List.of(PolicyKind.values());
        int[] capacities = DEFAULT_CAPACITIES;
        int[] traceCapacities = DEFAULT_TRACE_CAPACITIES;
        int requests = Workloads.DEFAULT_REQUESTS;
        long seed = DEFAULT_SEED;
        String trace = "excerpt";
        boolean csv = false;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--workloads" -> names = List.of(args[++i].split(","));
                case "--policies" -> policies = Arrays.stream(args[++i].split(",")).map(PolicyKind::parse).toList();
                case "--capacities" -> capacities = ints(args[++i]);
                case "--trace-capacities" -> traceCapacities = ints(args[++i]);
                case "--requests" -> requests = Integer.parseInt(args[++i]);
                case "--seed" -> seed = Long.parseLong(args[++i]);
                case "--trace" -> trace = args[++i];
                case "--csv" -> csv = true;
                default -> {
                    System.err.println("usage: Simulator [--workloads a,b] [--policies lru,lfu,adaptive]"
                            + " [--capacities 64,128] [--requests N] [--seed S] [--trace PATH|excerpt|none]"
                            + " [--trace-capacities 500,1000] [--csv]");
                    System.exit(args[i].equals("--help") ? 0 : 2);
                }
            }
        }
        List<Workload> workloads = new ArrayList<>();
        for (String name : names) {
            workloads.add(Workloads.named(name, requests, seed));
        }
        List<SimulationResult> rows = new ArrayList<>(run(workloads, policies, capacities).rows());
        if (!trace.equals("none")) {
            Workload replayed = trace.equals("excerpt") ? MooncakeTrace.excerpt() : MooncakeTrace.read(Path.of(trace));
            rows.addAll(run(List.of(replayed), policies, traceCapacities).rows());
        }
        var report = new SimulationReport(rows);
        System.out.print(csv ? report.formatCsv() : report.formatTable());
    }

    private static int[] ints(String list) {
        return Arrays.stream(list.split(",")).map(String::trim).mapToInt(Integer::parseInt).toArray();
    }
}
