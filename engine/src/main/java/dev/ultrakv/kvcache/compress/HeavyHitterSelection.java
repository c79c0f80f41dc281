package dev.ultrakv.kvcache.compress;

/**
 * H2O (Zhang et al., "H<sub>2</sub>O: Heavy-Hitter Oracle for Efficient Generative Inference of Large Language
 * Models", NeurIPS 2023): keeps the most recent entries and, among the others, the heavy hitters, the entries
 * that have received the most attention so far from every query of the sequence, summed over the query heads that
 * share the KV head.
 *
 * <h2>Why both</h2>
 * Accumulated attention is sparse and follows a power law: a few entries (often frequent or structural tokens)
 * receive most of it, and removing them hurts far more than removing the same number of others. But a recent
 * entry has had few queries to vote for it yet, so a pure accumulated score would evict the local context the
 * next token needs most. The paper splits the budget equally between the two (10% recent plus 10% heavy hitters
 * in its 20% runs), hence half the budget for each, the odd entry to the recent window.
 *
 * <p>Every query counts, prompt and generated: the score is the running sum H2O's greedy eviction keeps. Scores
 * follow their entries through compaction ({@link AttentionTally#compact}), so a heavy hitter keeps its lead.
 */
final class HeavyHitterSelection implements EntrySelection {
    /** The recent window takes 1 / this of the budget, rounded up: the paper's equal split with heavy hitters. */
    static final int RECENT_SHARE_DIVISOR = 2;

    @Override
    public CompressionMethod method() {
        return CompressionMethod.H2O;
    }

    @Override
    public boolean usesVotes() {
        return true;
    }

    @Override
    public boolean counts(long position) {
        return true;
    }

    @Override
    public int[] keep(long[] votes, int entries, int keep) {
        int recent = Math.ceilDiv(keep, RECENT_SHARE_DIVISOR);
        int candidates = entries - recent;
        int[] heavy = TopVotes.largest(votes, candidates, keep - recent);
        int[] kept = new int[keep];
        System.arraycopy(heavy, 0, kept, 0, heavy.length);
        for (int i = heavy.length; i < keep; i++) {
            kept[i] = candidates + i - heavy.length;
        }
        return kept;
    }
}
