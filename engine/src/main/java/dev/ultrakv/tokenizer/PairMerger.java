package dev.ultrakv.tokenizer;

import java.util.PriorityQueue;

/**
 * Greedy pair merging shared by the BPE-style tokenizers: while some adjacent pair of symbols merges, merge the pair
 * of highest priority, the leftmost among equals.
 *
 * <h2>Why a queue</h2>
 * llama2.c rescans the whole sequence after every merge, which is quadratic. Here every adjacent pair is looked up
 * once when it forms and waits in a priority queue ordered by (priority descending, original position ascending).
 * Merging keeps the left symbol's slot, so original positions stay in sequence order and "smallest position" is
 * "leftmost". A queued pair is stale once either side has been merged; it is then skipped. Each merge adds at most
 * two pairs, so a text of n symbols costs O(n log n). Priorities compare with {@code >} and {@code <} on purpose,
 * not {@link Double#compare}: llama2.c's scores include {@code -0.0}, which must tie with {@code 0.0}.
 */
final class PairMerger {

    /** What merging an adjacent pair yields, and how urgently (higher first; never NaN). */
    record Merge(int symbol, double priority) {
    }

    /** The merge table of a vocabulary. */
    interface Rule {
        /** The merge of {@code left} followed by {@code right}, or {@code null} when that pair never merges. */
        Merge find(int left, int right);
    }

    /** An adjacent pair waiting in the queue, with the versions of both slots when it was looked up. */
    private record Candidate(int left, int right, int leftVersion, int rightVersion, Merge merge) {
    }

    private PairMerger() {
    }

    /** Merges {@code symbols} to a fixed point under {@code rule} and returns the surviving symbols in order. */
    static int[] mergeAll(int[] symbols, Rule rule) {
        int n = symbols.length;
        if (n < 2) {
            return symbols.clone();
        }
        int[] symbol = symbols.clone();
        int[] next = new int[n];
        int[] prev = new int[n];
        int[] version = new int[n];
        boolean[] removed = new boolean[n];
        for (int i = 0; i < n; i++) {
            next[i] = i + 1 < n ? i + 1 : -1;
            prev[i] = i - 1;
        }
        PriorityQueue<Candidate> queue = new PriorityQueue<>(n, PairMerger::order);
        for (int i = 0; i + 1 < n; i++) {
            offer(queue, rule, symbol, version, i, i + 1);
        }
        int alive = n;
        while (!queue.isEmpty()) {
            Candidate c = queue.poll();
            if (removed[c.left] || removed[c.right] || next[c.left] != c.right
                    || version[c.left] != c.leftVersion || version[c.right] != c.rightVersion) {
                continue;
            }
            symbol[c.left] = c.merge.symbol();
            version[c.left]++;
            removed[c.right] = true;
            alive--;
            int after = next[c.right];
            next[c.left] = after;
            if (after >= 0) {
                prev[after] = c.left;
                offer(queue, rule, symbol, version, c.left, after);
            }
            if (prev[c.left] >= 0) {
                offer(queue, rule, symbol, version, prev[c.left], c.left);
            }
        }
        int[] out = new int[alive];
        int k = 0;
        for (int i = 0; i >= 0; i = next[i]) {
            out[k++] = symbol[i];
        }
        return out;
    }

    private static void offer(PriorityQueue<Candidate> queue, Rule rule, int[] symbol, int[] version,
                              int left, int right) {
        Merge merge = rule.find(symbol[left], symbol[right]);
        if (merge != null) {
            queue.add(new Candidate(left, right, version[left], version[right], merge));
        }
    }

    private static int order(Candidate a, Candidate b) {
        double pa = a.merge.priority();
        double pb = b.merge.priority();
        if (pa > pb) {
            return -1;
        }
        if (pa < pb) {
            return 1;
        }
        return Integer.compare(a.left, b.left);
    }
}
