package dev.ultrakv.kvcache.compress;

import java.util.Objects;

/**
 * Decides which K/V entries of one sequence stay when the store compacts it; the store applies the decision.
 *
 * <p>One instance per sequence. Entries are numbered {@code 0 .. entries-1} in the order they were written; after
 * a compaction entry {@code i} is the {@code i}-th kept one, and new entries are appended after them. Selection is
 * per (layer, KV head): every head keeps the same number of entries, not necessarily the same ones.
 *
 * <p>The protocol, for a store that {@linkplain #observesAttention() reports attention}:
 * <ol>
 *   <li>after each softmax, {@link #observe} the probabilities of one query head for one query;</li>
 *   <li>when the sequence holds a block more than its share, {@link #select} the entries to keep, move them;</li>
 *   <li>report the move with {@link #compacted}, so that accumulated votes follow their entries.</li>
 * </ol>
 * {@code observe} may be called from several threads at once, in any order; the votes, and so the selections, do
 * not depend on the order. {@code select} and {@code compacted} are called by one thread, between steps, with no
 * {@code observe} in flight.
 */
public interface KvCompressor {

    /**
     * A compressor for one sequence.
     *
     * @param method       which entries stay
     * @param layers       transformer layers
     * @param heads        query heads per layer
     * @param kvHeads      KV heads per layer; divides {@code heads}; query head {@code h} reads KV head
     *                     {@code h / (heads / kvHeads)}
     * @param promptTokens positions of the sequence's prompt (SnapKV's observation window is its end)
     * @throws IllegalArgumentException if a count is not positive or {@code kvHeads} does not divide {@code heads}
     */
    static KvCompressor create(CompressionMethod method, int layers, int heads, int kvHeads, int promptTokens) {
        Objects.requireNonNull(method, "method");
        if (promptTokens <= 0) {
            throw new IllegalArgumentException("promptTokens must be positive: " + promptTokens);
        }
        EntrySelection selection = switch (method) {
            case STREAMING -> new StreamingSelection();
            case H2O -> new HeavyHitterSelection();
            case SNAPKV -> new SnapKvSelection(promptTokens);
        };
        return new SelectingCompressor(selection, layers, heads, kvHeads);
    }

    /** Which entries this compressor keeps. */
    CompressionMethod method();

    /** Whether the store must {@link #observe} attention probabilities; false for {@code STREAMING}. */
    boolean observesAttention();

    /**
     * Records the attention of query head {@code head} of {@code layer} for the query written at entry
     * {@code queryEntry}, which attends to entries {@code [0, length)}. Thread-safe; the probabilities are read
     * before returning and not kept. Ignored if {@link #observesAttention()} is false, or if the method does not
     * count this query (SnapKV counts queries from its observation window on).
     *
     * @param probabilities softmax output: {@code probabilities[e]} is the weight of entry {@code e}, for
     *                      {@code e < length}; they sum to 1
     * @param length        {@code queryEntry + 1}
     * @throws IllegalArgumentException if {@code layer} or {@code head} is out of range, {@code length} is not
     *                                  {@code queryEntry + 1}, or the array is shorter than {@code length}
     */
    void observe(int layer, int head, int queryEntry, float[] probabilities, int length);

    /**
     * Which entries stay: {@code kept[layer][kvHead]} holds exactly {@code keep} distinct entry indices in
     * {@code [0, entries)}, ascending. Deterministic: the same observations give the same arrays; among equal
     * scores the lower index stays. Changes nothing; the arrays are new and the caller's.
     *
     * @param entries entries each (layer, KV head) holds now
     * @param keep    entries each keeps
     * @throws IllegalArgumentException unless {@code 1 <= keep <= entries}, or if {@code entries} is fewer than
     *                                  the entries attention was already observed over
     */
    int[][][] select(int entries, int keep);

    /**
     * Counts the attention observed since the last commit or discard (a forward pass whose rows ran). Selections
     * and compactions commit first, so a caller that never discards need not call it.
     */
    void commitPass();

    /**
     * Forgets the attention observed since the last commit: the forward pass failed and its rows will run again,
     * so their queries must not count twice.
     */
    void discardPass();

    /**
     * The store kept {@code kept} of its {@code entries} (typically what {@link #select} returned): entry
     * {@code i} of each (layer, KV head) is now its {@code kept[layer][kvHead][i]}. Votes follow their entries;
     * those of dropped entries are forgotten.
     *
     * @throws IllegalArgumentException if {@code kept} is not {@code [layers][kvHeads]} arrays of one length
     *                                  {@code <= entries}, each strictly ascending within {@code [0, entries)},
     *                                  or {@code entries} is fewer than the entries already observed; nothing is
     *                                  changed then
     */
    void compacted(int[][][] kept, int entries);
}
