package dev.ultrakv.kvcache.compress;

/**
 * StreamingLLM (Xiao et al., "Efficient Streaming Language Models with Attention Sinks", ICLR 2024): keeps the
 * first {@value #SINKS} entries, the attention sinks, and the most recent ones; reads no attention.
 *
 * <h2>Why the first entries</h2>
 * Softmax must put its mass somewhere, and models learn to park the attention a query does not need on the first
 * positions, which every later query can see. Dropping them shifts that mass onto the remaining entries and
 * perplexity explodes; keeping a few restores it. In the paper's ablation of how many initial tokens to keep, one
 * recovers most of the loss and four restore it, hence {@value #SINKS}.
 *
 * <h2>Small budgets</h2>
 * Below {@code 2 × SINKS} kept entries the sinks would crowd out the recent window, so sinks and recent entries
 * split the budget, the odd entry going to the sinks. With a single entry the first one stays rather than the
 * latest: the next query then sees a sink and itself, where with the latest it would see only recent keys and
 * have nowhere to park its attention (the failure above).
 *
 * <p>Entry indices of sinks survive compaction (entries {@code 0 .. SINKS-1} are always kept, so they stay first),
 * and the recent window is the highest indices, so selections are correct in the compacted numbering without
 * knowing positions.
 */
final class StreamingSelection implements EntrySelection {
    /** Attention sinks kept: the paper's choice, the fewest initial tokens that restore its baseline perplexity. */
    static final int SINKS = 4;
    /** Sinks take at most 1 / this of the budget, so a small budget still keeps as many recent entries. */
    static final int SINK_SHARE_DIVISOR = 2;

    @Override
    public CompressionMethod method() {
        return CompressionMethod.STREAMING;
    }

    @Override
    public boolean usesVotes() {
        return false;
    }

    @Override
    public boolean counts(long position) {
        return false;
    }

    @Override
    public int[] keep(long[] votes, int entries, int keep) {
        int sinks = Math.min(SINKS, Math.ceilDiv(keep, SINK_SHARE_DIVISOR));
        int[] kept = new int[keep];
        for (int i = 0; i < sinks; i++) {
            kept[i] = i;
        }
        int recentStart = entries - (keep - sinks);
        for (int i = sinks; i < keep; i++) {
            kept[i] = recentStart + i - sinks;
        }
        return kept;
    }
}
