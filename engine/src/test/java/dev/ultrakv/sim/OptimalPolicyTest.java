package dev.ultrakv.sim;

import dev.ultrakv.kvcache.policy.PolicyKind;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Belady's optimum in the simulator, checked against brute force: on small traces of one-block prompts (where the
 * prefix tree is flat, so every cached block is an evictable leaf between requests) it must serve exactly as many
 * hits as the best of every possible eviction choice, found by exhaustive search.
 */
class OptimalPolicyTest {

    @Test
    void optimumEqualsExhaustiveSearchOnSmallFlatTraces() {
        var random = new SplittableRandom(7);
        for (int trial = 0; trial < 200; trial++) {
            int length = 6 + random.nextInt(9);
            int distinct = 2 + random.nextInt(5);
            int capacity = 1 + random.nextInt(3);
            int[] trace = new int[length];
            for (int i = 0; i < length; i++) {
                trace[i] = random.nextInt(distinct);
            }
            long best = bestHits(trace, 0, List.of(), capacity, new HashMap<>());
            SimulationResult optimal = Simulator.replay(workload(trace), PolicyKind.OPTIMAL, capacity);
            assertEquals(best, optimal.requestHits(), "trace " + java.util.Arrays.toString(trace) + " capacity "
                    + capacity);
            for (PolicyKind online : List.of(PolicyKind.LRU, PolicyKind.LFU, PolicyKind.ADAPTIVE)) {
                assertTrue(Simulator.replay(workload(trace), online, capacity).requestHits() <= best);
            }
        }
    }

    @Test
    void optimumKeepsTheBlockUsedSoonestWhereLruWouldNot() {
        // A B C A B C with room for two: LRU misses all six, the optimum hits A... or B once more each round.
        int[] trace = {0, 1, 2, 0, 1, 2, 0, 1, 2};
        assertEquals(0, Simulator.replay(workload(trace), PolicyKind.LRU, 2).requestHits());
        assertEquals(bestHits(trace, 0, List.of(), 2, new HashMap<>()),
                Simulator.replay(workload(trace), PolicyKind.OPTIMAL, 2).requestHits());
        assertTrue(Simulator.replay(workload(trace), PolicyKind.OPTIMAL, 2).requestHits() >= 3);
    }

    @Test
    void theEngineRefusesToBuildTheOptimum() {
        var e = assertThrows(IllegalArgumentException.class,
                () -> dev.ultrakv.kvcache.policy.EvictionPolicies.create(PolicyKind.OPTIMAL, 10, 16));
        assertTrue(e.getMessage().contains("simulator"), e.getMessage());
    }

    /** Most hits over every choice of victim: the cache is a sorted list of block numbers. */
    private static long bestHits(int[] trace, int at, List<Integer> cache, int capacity,
                                 Map<String, Long> memo) {
        if (at == trace.length) {
            return 0;
        }
        String state = at + ":" + cache;
        Long known = memo.get(state);
        if (known != null) {
            return known;
        }
        int block = trace[at];
        long best;
        if (cache.contains(block)) {
            best = 1 + bestHits(trace, at + 1, cache, capacity, memo);
        } else if (cache.size() < capacity) {
            best = bestHits(trace, at + 1, with(cache, block, -1), capacity, memo);
        } else {
            best = 0;
            for (int victim : cache) {
                best = Math.max(best, bestHits(trace, at + 1, with(cache, block, victim), capacity, memo));
            }
        }
        memo.put(state, best);
        return best;
    }

    private static List<Integer> with(List<Integer> cache, int added, int removed) {
        List<Integer> next = new ArrayList<>(cache);
        next.remove(Integer.valueOf(removed));
        next.add(added);
        next.sort(null);
        return next;
    }

    /** One-block prompts (one token per block, as a Mooncake replay) without outputs. */
    private static Workload workload(int[] trace) {
        List<TraceRequest> requests = new ArrayList<>();
        for (int block : trace) {
            requests.add(new TraceRequest(new int[] {block}, new int[0]));
        }
        return new Workload("flat", 1, 1, requests);
    }
}
