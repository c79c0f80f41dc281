package dev.ultrakv.kvcache.compress;

/**
 * SnapKV (Li et al., "SnapKV: LLM Knows What You are Looking for Before Generation", NeurIPS 2024): the queries of
 * an observation window at the end of the prompt vote, with their attention, for the earlier entries that stay;
 * the window itself always stays.
 *
 * <h2>Why the end of the prompt</h2>
 * The paper observes that each head's attention pattern during generation is already visible in the attention of
 * the prompt's last positions (usually the question or instruction), and stays stable through the answer. So the
 * last {@value #OBSERVATION_WINDOW} prompt positions' attention, summed over the window and over the query heads
 * that share the KV head, ranks the earlier entries; the top ones stay.
 *
 * <h2>Clustering</h2>
 * Keeping isolated top entries loses the tokens around them that complete their meaning. The votes are therefore
 * smoothed by a 1-D max pooling of kernel {@value #POOLING_KERNEL} (stride 1, the window clipped at the ends)
 * before ranking, so an entry next to a strongly attended one ranks as high and the selection keeps small
 * clusters. Kernel 7 with max pooling is how the LongBench runs of SnapKV are configured in its follow-ups' suites
 * (PyramidKV, KVCache-Factory); the reference code's default is an average pooling of 5. Pooling runs over entry
 * indices: after a compaction neighbouring entries may be far apart in position, which only widens what a cluster
 * spans.
 *
 * <h2>During generation</h2>
 * The paper compresses the prompt once. Here the store compacts again as the answer grows, so every query from
 * the window on keeps voting: the window's during prefill, then every generated query (a rolling vote, added to
 * the window's), and the kept window is always the most recent entries. Queries before the window never vote.
 *
 * <h2>Small budgets</h2>
 * The kept window takes at most half the budget (the odd entry to the window), so that a small budget still keeps
 * as many voted entries as recent ones, as H2O splits its budget.
 */
final class SnapKvSelection implements EntrySelection {
    /** Prompt positions that vote, and recent entries kept: 32, the reference implementation's default window. */
    static final int OBSERVATION_WINDOW = 32;
    /** Max-pooling kernel that clusters the votes: the LongBench setting of SnapKV's follow-up suites. */
    static final int POOLING_KERNEL = 7;
    /** The kept window takes at most 1 / this of the budget, rounded up, so voted entries keep the rest. */
    static final int WINDOW_SHARE_DIVISOR = 2;

    /** Position of the first query that votes: the start of the observation window. */
    private final long firstVoter;

    /** @param promptTokens positions of the prompt; its last {@value #OBSERVATION_WINDOW} are the window */
    SnapKvSelection(int promptTokens) {
        this.firstVoter = Math.max(0, promptTokens - OBSERVATION_WINDOW);
    }

    @Override
    public CompressionMethod method() {
        return CompressionMethod.SNAPKV;
    }

    @Override
    public boolean usesVotes() {
        return true;
    }

    @Override
    public boolean counts(long position) {
        return position >= firstVoter;
    }

    @Override
    public int[] keep(long[] votes, int entries, int keep) {
        int window = Math.min(OBSERVATION_WINDOW, Math.ceilDiv(keep, WINDOW_SHARE_DIVISOR));
        int candidates = entries - window;
        int[] voted = TopVotes.largest(maxPool(votes, candidates), candidates, keep - window);
        int[] kept = new int[keep];
        System.arraycopy(voted, 0, kept, 0, voted.length);
        for (int i = voted.length; i < keep; i++) {
            kept[i] = candidates + i - voted.length;
        }
        return kept;
    }

    /** Each of {@code votes[0, length)} replaced by the largest vote within {@code POOLING_KERNEL / 2} of it. */
    static long[] maxPool(long[] votes, int length) {
        int radius = POOLING_KERNEL / 2;
        long[] pooled = new long[length];
        for (int i = 0; i < length; i++) {
            long max = Long.MIN_VALUE;
            int to = Math.min(length - 1, i + radius);
            for (int j = Math.max(0, i - radius); j <= to; j++) {
                max = Math.max(max, votes[j]);
            }
            pooled[i] = max;
        }
        return pooled;
    }
}
