package dev.ultrakv.sim;

import dev.ultrakv.kvcache.policy.PolicyKind;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The floor of issue 15 on the simulator's workloads: ADAPTIVE's token hit rate is at least the better of LRU's and
 * LFU's minus half a point, at a few sizes from 2% to 50% of each working set (2,000 requests a workload, to stay
 * fast). Where today's ADAPTIVE is below the floor the row is listed in {@link #KNOWN_BELOW_FLOOR}, so that the
 * test fails both when another row falls below and when a listed one is fixed (then shorten the list). The
 * optimum stays above every online policy at these sizes (Belady's rule under the leaf rule and partial matches is
 * not a strict bound everywhere: shared-system-prompts at 1% has ADAPTIVE 0.7 points above it).
 */
class PolicyOrderingTest {
    /** Half a point of token hit rate. */
    static final double FLOOR_TOLERANCE = 0.005;
    static final int REQUESTS = 2_000;
    static final List<Capacity> CAPACITIES = Capacity.parseList("2%,10%,50%");
    /** Rows (workload @ share) where ADAPTIVE is below the floor today; see docs/policies.md. */
    static final Set<String> KNOWN_BELOW_FLOOR = Set.of("repeats(0.5) @2%", "repeats(0.5) @10%");

    static SimulationReport report;

    @BeforeAll
    static void simulate() {
        List<Workload> workloads = new ArrayList<>();
        for (String name : Simulator.BUILT_IN_WORKLOADS) {
            workloads.add(Simulator.builtIn(name, REQUESTS, Simulator.DEFAULT_SEED));
        }
        report = Simulator.run(workloads, List.of(PolicyKind.values()), CAPACITIES);
    }

    @Test
    void adaptiveIsAtTheFloorOfTheBetterOfLruAndLfuExceptWhereKnown() {
        Set<String> below = new TreeSet<>();
        StringBuilder detail = new StringBuilder();
        for (SimulationResult row : report.rows()) {
            if (row.policy() != PolicyKind.ADAPTIVE) {
                continue;
            }
            double lru = report.find(row.workload(), PolicyKind.LRU, row.capacityBlocks()).tokenHitRate();
            double lfu = report.find(row.workload(), PolicyKind.LFU, row.capacityBlocks()).tokenHitRate();
            if (row.tokenHitRate() < Math.max(lru, lfu) - FLOOR_TOLERANCE) {
                String name = row.workload() + " @" + Math.round(100 * row.capacityShare()) + "%";
                below.add(name);
                detail.append(String.format("%s: ADAPTIVE %.4f, LRU %.4f, LFU %.4f%n", name, row.tokenHitRate(), lru,
                        lfu));
            }
        }
        assertEquals(new TreeSet<>(KNOWN_BELOW_FLOOR), below, detail + "\n" + report.formatTable());
    }

    @Test
    void noOnlinePolicyBeatsTheOptimumAtTheseSizes() {
        for (SimulationResult row : report.rows()) {
            double optimal = report.find(row.workload(), PolicyKind.OPTIMAL, row.capacityBlocks()).tokenHitRate();
            assertTrue(row.tokenHitRate() <= optimal + 1e-9, row + " above the optimum " + optimal);
        }
    }

    @Test
    void everySyntheticReplayServedEveryRequest() {
        for (SimulationResult row : report.rows()) {
            if (!row.workload().equals(Simulator.MOONCAKE_EXCERPT)) {
                assertTrue(row.unfitRequests() == 0 || row.capacityShare() < 0.05, row.toString());
            }
        }
    }
}
