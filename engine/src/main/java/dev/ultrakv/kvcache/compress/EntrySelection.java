package dev.ultrakv.kvcache.compress;

/**
 * One compression method's two decisions, as pure functions: which queries' attention counts as votes, and, from
 * one KV head's votes, which of its entries stay. {@link SelectingCompressor} keeps the votes and asks.
 */
sealed interface EntrySelection permits StreamingSelection, HeavyHitterSelection, SnapKvSelection {

    /** The method this selection implements. */
    CompressionMethod method();

    /** Whether selections read votes; if not, no attention needs reporting. */
    boolean usesVotes();

    /** Whether the attention of the query at sequence position {@code position} is a vote. */
    boolean counts(long position);

    /**
     * The entries of one (layer, KV head) that stay.
     *
     * @param votes   the head's votes per entry (length {@code entries}), or {@code null} if {@link #usesVotes()}
     *                is false
     * @param entries entries the head holds now, {@code >= keep}
     * @param keep    entries to keep, {@code >= 1}
     * @return exactly {@code keep} distinct indices in {@code [0, entries)}, ascending
     */
    int[] keep(long[] votes, int entries, int keep);
}
