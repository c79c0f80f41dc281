package dev.ultrakv.sim;

import dev.ultrakv.kvcache.policy.OptimalPolicy;

import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;

/**
 * Which requests of a workload use each block, as an unbounded cache sees them: the future that
 * {@link OptimalPolicy} reads. A block is used by a request that finds it cached or computes it; keys name a block
 * with everything before it, so they are the same in a replay of any cache size.
 *
 * <p>Built once per workload (one replay with room for everything) and then shared by the replays of every cache
 * size; each replay moves its own {@link Clock} forward request by request. Offline only: it holds every reference
 * of the workload.
 */
final class FutureUses {
    private static final int[] NONE = new int[0];

    private final Map<Long, int[]> usesByKey;
    private final int uniqueBlocks;

    private FutureUses(Map<Long, int[]> usesByKey, int uniqueBlocks) {
        this.usesByKey = usesByKey;
        this.uniqueBlocks = uniqueBlocks;
    }

    /** Collects the uses of {@code references}: pairs of a block key and the request number using it, in order. */
    static FutureUses of(long[] keys, int[] requests, int count, int uniqueBlocks) {
        Map<Long, int[]> lists = new HashMap<>();
        Map<Long, Integer> sizes = new HashMap<>();
        for (int i = 0; i < count; i++) {
            long key = keys[i];
            int[] list = lists.getOrDefault(key, NONE);
            int size = sizes.getOrDefault(key, 0);
            if (size > 0 && list[size - 1] == requests[i]) {
                continue; // one request using a block twice is one use
            }
            if (size == list.length) {
                list = Arrays.copyOf(list, Math.max(2, size * 2));
                lists.put(key, list);
            }
            list[size] = requests[i];
            sizes.put(key, size + 1);
        }
        lists.replaceAll((key, list) -> Arrays.copyOf(list, sizes.get(key)));
        return new FutureUses(lists, uniqueBlocks);
    }

    /** Distinct blocks the workload computes with a cache that keeps everything: its working set. */
    int uniqueBlocks() {
        return uniqueBlocks;
    }

    /** The request after {@code request} that uses {@code key}, or {@link OptimalPolicy.NextUse#NEVER}. */
    long after(long key, int request) {
        int[] uses = usesByKey.get(key);
        if (uses == null) {
            return OptimalPolicy.NextUse.NEVER;
        }
        int at = Arrays.binarySearch(uses, request + 1);
        int next = at >= 0 ? at : -at - 1;
        return next < uses.length ? uses[next] : OptimalPolicy.NextUse.NEVER;
    }

    /** The oracle of one replay: the future as seen from the request being replayed. */
    Clock clock() {
        return new Clock();
    }

    /** A replay's position in the workload. */
    final class Clock implements OptimalPolicy.NextUse, Simulator.RequestClock {
        private int request;

        @Override
        public void moveTo(int request) {
            this.request = request;
        }

        @Override
        public long after(long key) {
            return FutureUses.this.after(key, request);
        }
    }
}
