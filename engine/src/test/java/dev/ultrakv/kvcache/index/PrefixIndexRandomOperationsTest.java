package dev.ultrakv.kvcache.index;

import dev.ultrakv.kvcache.policy.EvictionPolicies;
import dev.ultrakv.kvcache.policy.EvictionPolicy;
import dev.ultrakv.kvcache.policy.OptimalPolicy;
import dev.ultrakv.kvcache.policy.PolicyKind;
import dev.ultrakv.sim.BlockCounter;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Seeded random sequences of the engine's operations (requests that overlap in time, sharing prefixes from a tiny
 * vocabulary so that partial blocks, divergences, duplicates and supersessions are frequent), with the index's
 * invariants checked after every operation and the pool's books balanced at the end.
 */
class PrefixIndexRandomOperationsTest {
    static final int OPERATIONS = 3_000;
    static final int CAPACITY = 48;
    static final int BLOCK = 4;

    static Stream<Object[]> cases() {
        return Stream.of(PolicyKind.values())
                .flatMap(kind -> Stream.of(1L, 2L, 3L, 4L).map(seed -> new Object[] {kind, seed}));
    }

    /**
     * The policy of {@code kind}; the optimum reads a made-up future (a next use drawn from each key), which is
     * enough to hold it to the same guarantees: it may order as it likes, but only unpinned leaves.
     */
    static EvictionPolicy policy(PolicyKind kind, long seed) {
        return kind.isOnline() ? EvictionPolicies.create(kind, CAPACITY, BLOCK)
                : new OptimalPolicy(key -> (key * 0x9e3779b97f4a7c15L ^ seed) >>> 40);
    }

    /** A request admitted but not finished: its match and the blocks it allocated. */
    record Running(PrefixMatch match, int[] sequence, int[] table) {
    }

    @ParameterizedTest(name = "{0} seed {1}")
    @MethodSource("cases")
    void invariantsHoldAfterEveryOperation(PolicyKind kind, long seed) {
        var random = new SplittableRandom(seed);
        var pool = new BlockCounter(CAPACITY);
        var index = new PrefixIndex(BLOCK, policy(kind, seed), pool::free);
        List<Running> running = new ArrayList<>();
        List<int[]> history = new ArrayList<>();
        for (int op = 0; op < OPERATIONS; op++) {
            if (running.size() < 4 && (running.isEmpty() || random.nextInt(3) > 0)) {
                admit(random, index, pool, running, history);
            } else {
                Running done = running.remove(random.nextInt(running.size()));
                if (random.nextInt(10) == 0) {
                    for (int i = done.match().fullBlockCount(); i < done.table().length; i++) {
                        pool.free(done.table()[i]); // cancelled: nothing to cache
                    }
                } else {
                    int tokenCount = 1 + random.nextInt(done.sequence().length);
                    int used = Math.ceilDiv(tokenCount, BLOCK);
                    index.insert(done.match(), done.sequence(), tokenCount, done.table());
                    for (int i = Math.max(used, done.match().fullBlockCount()); i < done.table().length; i++) {
                        pool.free(done.table()[i]); // allocated beyond what was written: still the caller's
                    }
                }
                index.unpin(done.match());
            }
            index.checkInvariants();
        }
        for (Running r : running) {
            for (int i = r.match().fullBlockCount(); i < r.table().length; i++) {
                pool.free(r.table()[i]);
            }
            index.unpin(r.match());
        }
        index.checkInvariants();
        assertEquals(0, index.pinnedBlocks());
        assertEquals(index.cachedBlocks(), index.evict(Integer.MAX_VALUE), "everything unpinned can go");
        assertEquals(CAPACITY, pool.freeBlocks(), "every block came back exactly once");
        assertTrue(index.stats().lookups() > OPERATIONS / 3);
    }

    private static void admit(SplittableRandom random, PrefixIndex index, BlockCounter pool, List<Running> running,
                              List<int[]> history) {
        int[] sequence;
        if (!history.isEmpty() && random.nextInt(3) > 0) {
            int[] earlier = history.get(random.nextInt(history.size()));
            int keep = random.nextInt(earlier.length + 1);
            sequence = Arrays.copyOf(earlier, keep + 1 + random.nextInt(10));
            for (int i = keep; i < sequence.length; i++) {
                sequence[i] = random.nextInt(3);
            }
        } else {
            sequence = random.ints(1 + random.nextInt(20), 0, 3).toArray();
        }
        history.add(sequence);
        int promptLength = 1 + random.nextInt(sequence.length);
        PrefixMatch match = index.match("model-" + random.nextInt(2), Arrays.copyOf(sequence, promptLength));
        index.pin(match);
        int blocks = Math.ceilDiv(sequence.length, BLOCK);
        int missing = blocks - match.fullBlockCount();
        if (pool.freeBlocks() < missing) {
            index.evict(missing - pool.freeBlocks());
        }
        if (pool.freeBlocks() < missing) {
            index.unpin(match);
            return;
        }
        int[] table = Arrays.copyOf(match.fullBlocks(), blocks);
        for (int i = match.fullBlockCount(); i < blocks; i++) {
            table[i] = pool.allocate();
        }
        running.add(new Running(match, sequence, table));
    }
}
