package dev.ultrakv.sim;

import dev.ultrakv.kvcache.policy.PolicyKind;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The simulator's disk tier: written through, read after the memory prefix, forgetting its oldest blocks; it adds
 * hits without changing what memory does, and never finds more than a memory holding everything would.
 */
class DiskTierSimulationTest {
    private static final int REQUESTS = 1500;

    @Test
    void keysChainOverThePrefixAndOnlyFullBlocksHaveOne() {
        int[] tokens = {5, 6, 7, 8, 9, 10, 11};
        long[] keys = DiskTierModel.keys(tokens, tokens.length, 2);
        assertEquals(3, keys.length, "three full blocks of two");
        long[] otherStart = DiskTierModel.keys(new int[] {4, 6, 7, 8}, 4, 2);
        assertNotEquals(keys[1], otherStart[1], "a block's key depends on the blocks before it");
        assertEquals(keys[1], DiskTierModel.keys(new int[] {5, 6, 7, 8}, 4, 2)[1]);
    }

    @Test
    void theTierForgetsItsOldestBlocksAndReturnsLeadingRuns() {
        DiskTierModel disk = new DiskTierModel(3);
        disk.writeThrough(new long[] {1, 2, 3});
        disk.writeThrough(new long[] {2, 3});
        assertEquals(3, disk.size(), "keys already held are not written again");
        disk.writeThrough(new long[] {4});
        assertFalse(disk.contains(1), "the oldest went first");
        assertEquals(3, disk.leadingRun(new long[] {9, 2, 3, 4, 5}, 1, 5));
        assertEquals(2, disk.leadingRun(new long[] {9, 2, 3, 4, 5}, 1, 3), "a run stops at its end");
        assertEquals(0, disk.leadingRun(new long[] {1, 2, 3}, 0, 3), "a run stops at the first key missing");
        for (long key = 5; key < 1000; key++) {
            disk.writeThrough(new long[] {key});
            assertEquals(3, disk.size());
            assertTrue(disk.contains(key) && disk.contains(key - 2) && !disk.contains(key - 3), "key " + key);
        }
    }

    @Test
    void aDiskAddsItsHitsToWhatMemoryFindsAndChangesNothingInMemory() {
        for (String name : List.of("multi-turn-chat", "abandoned-chat", "agent-loops", "document-qa")) {
            Workload workload = Simulator.builtIn(name, REQUESTS, Simulator.DEFAULT_SEED);
            int workingSet = Simulator.workingSetBlocks(workload);
            int memory = Math.max(1, workingSet / 50);
            for (PolicyKind policy : List.of(PolicyKind.LRU, PolicyKind.ADAPTIVE)) {
                SimulationResult alone = Simulator.replay(workload, policy, memory);
                SimulationResult withDisk = Simulator.replay(workload, policy, memory, workingSet);
                String where = name + " " + policy;
                assertEquals(alone.evictions(), withDisk.evictions(), where + ": memory evicts the same blocks");
                assertEquals(alone.cachedTokens() + withDisk.diskTokens(), withDisk.cachedTokens(), where);
                assertTrue(withDisk.diskTokens() > 0, where + ": the disk gave back what memory had evicted");
                SimulationResult everything = Simulator.replay(workload, policy, workingSet);
                assertTrue(withDisk.tokenHitRate() <= everything.tokenHitRate() + 1e-12,
                        where + ": a disk finds no more than a memory that keeps everything");
            }
        }
    }

    @Test
    void aReportWithADiskHasBothRowsAndComparesLikeWithLike() {
        Workload workload = Simulator.builtIn("multi-turn-chat", 400, Simulator.DEFAULT_SEED);
        SimulationReport report = Simulator.run(List.of(workload), List.of(PolicyKind.LRU, PolicyKind.OPTIMAL),
                List.of(new Capacity.Share(0.02)), new Capacity.Share(0.5));
        assertEquals(4, report.rows().size());
        assertEquals(2, report.memoryAlone().rows().size());
        int memory = report.rows().getFirst().capacityBlocks();
        int disk = report.rows().get(2).diskBlocks();
        SimulationResult lruWithDisk = report.find(workload.name(), PolicyKind.LRU, memory, disk);
        assertEquals(0, report.gapClosed(lruWithDisk), 1e-12, "LRU against LRU with the same disk");
        assertTrue(report.formatTable().contains("from disk"));
        assertTrue(report.formatJson().contains("\"diskBlocks\": " + disk));
    }
}
