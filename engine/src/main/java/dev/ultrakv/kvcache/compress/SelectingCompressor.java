package dev.ultrakv.kvcache.compress;

import java.util.Objects;
import java.util.function.Consumer;

/**
 * The one {@link KvCompressor}: keeps the votes of each (layer, KV head) in an {@link AttentionTally} and asks
 * its method's {@link EntrySelection} which entries stay.
 *
 * <h2>Deciding, not doing</h2>
 * The compressor never touches K/V memory: it returns entry indices, and the store moves the blocks and reports
 * back with {@link #compacted}. Methods are pure functions of a head's votes ({@link EntrySelection}), testable
 * without a store or a model, and one place owns votes, grouping and bookkeeping for all of them.
 *
 * <h2>Grouped-query attention</h2>
 * Query head {@code h} reads KV head {@code h / (heads / kvHeads)}, and an entry is dropped for the whole group
 * at once, so the group votes together: its query heads add into the KV head's one tally. That is the sum over
 * the group both H2O and SnapKV rank by, at {@code 1 / groupSize} of the memory of per-query-head tallies
 * ({@code layers × kvHeads × entries} longs), and remapping after a compaction follows the KV head's kept list by
 * construction.
 *
 * <h2>Which queries count</h2>
 * A method decides by sequence position ({@link EntrySelection#counts}). The store reports entry indices; the
 * query being the newest entry, its position is its entry index plus the positions dropped so far, the same for
 * every head since every head keeps the same number of entries. So the compressor keeps one count of dropped
 * positions and no per-entry position map.
 *
 * <h2>Concurrency</h2>
 * {@code observe} takes only the monitor of one tally ({@link AttentionTally}); votes are fixed point, so their
 * totals are independent of the order of the calls. {@code select} and {@code compacted} run between steps (the
 * store's join of its workers orders them after every {@code observe} of the step); they too go through the
 * tallies' monitors, and {@link #droppedPositions} is volatile, so the next step's workers see the new numbering.
 */
final class SelectingCompressor implements KvCompressor {
    private final EntrySelection selection;
    private final int layers;
    private final int heads;
    private final int kvHeads;
    private final int groupSize;
    /** Votes per (layer, KV head); {@code null} if the selection reads none. */
    private final AttentionTally[][] tallies;
    /** Positions dropped by compactions so far: a query's position is its entry index plus this. */
    private volatile long droppedPositions;

    SelectingCompressor(EntrySelection selection, int layers, int heads, int kvHeads) {
        this.selection = Objects.requireNonNull(selection, "selection");
        if (layers <= 0 || heads <= 0 || kvHeads <= 0 || heads % kvHeads != 0) {
            throw new IllegalArgumentException("layers, heads and kvHeads must be positive and kvHeads must divide"
                    + " heads: layers=" + layers + ", heads=" + heads + ", kvHeads=" + kvHeads);
        }
        this.layers = layers;
        this.heads = heads;
        this.kvHeads = kvHeads;
        this.groupSize = heads / kvHeads;
        if (selection.usesVotes()) {
            tallies = new AttentionTally[layers][kvHeads];
            for (AttentionTally[] layer : tallies) {
                for (int g = 0; g < kvHeads; g++) {
                    layer[g] = new AttentionTally();
                }
            }
        } else {
            tallies = null;
        }
    }

    @Override
    public CompressionMethod method() {
        return selection.method();
    }

    @Override
    public boolean observesAttention() {
        return tallies != null;
    }

    @Override
    public void observe(int layer, int head, int queryEntry, float[] probabilities, int length) {
        if (layer < 0 || layer >= layers || head < 0 || head >= heads) {
            throw new IllegalArgumentException("no layer " + layer + ", head " + head + " in " + layers
                    + " layers of " + heads + " heads");
        }
        if (queryEntry < 0 || length != queryEntry + 1) {
            throw new IllegalArgumentException("the query at entry " + queryEntry + " attends to "
                    + (queryEntry + 1) + " entries, not " + length);
        }
        if (probabilities.length < length) {
            throw new IllegalArgumentException(length + " entries but " + probabilities.length + " probabilities");
        }
        if (tallies != null && selection.counts(queryEntry + droppedPositions)) {
            tallies[layer][head / groupSize].add(probabilities, length);
        }
    }

    @Override
    public int[][][] select(int entries, int keep) {
        if (keep < 1 || keep > entries) {
            throw new IllegalArgumentException("cannot keep " + keep + " of " + entries
                    + " entries: keep must be in [1, entries]");
        }
        checkCovers(entries);
        int[][][] kept = new int[layers][kvHeads][];
        int[] shared = tallies == null ? selection.keep(null, entries, keep) : null;
        for (int l = 0; l < layers; l++) {
            for (int g = 0; g < kvHeads; g++) {
                kept[l][g] = shared != null ? shared.clone()
                        : selection.keep(tallies[l][g].snapshot(entries), entries, keep);
            }
        }
        return kept;
    }

    @Override
    public void compacted(int[][][] kept, int entries) {
        int keep = checkKept(kept, entries);
        checkCovers(entries);
        if (tallies != null) {
            for (int l = 0; l < layers; l++) {
                for (int g = 0; g < kvHeads; g++) {
                    tallies[l][g].compact(kept[l][g]);
                }
            }
        }
        droppedPositions += entries - keep;
    }

    @Override
    public void discardPass() {
        forEachTally(AttentionTally::discard);
    }

    @Override
    public void commitPass() {
        forEachTally(AttentionTally::commit);
    }

    private void forEachTally(Consumer<AttentionTally> action) {
        if (tallies != null) {
            for (AttentionTally[] layer : tallies) {
                for (AttentionTally tally : layer) {
                    action.accept(tally);
                }
            }
        }
    }

    /** The fixed-point votes of one (layer, KV head) over {@code entries}, for tests and diagnostics. */
    long[] votes(int layer, int kvHead, int entries) {
        return tallies == null ? new long[entries] : tallies[layer][kvHead].snapshot(entries);
    }

    /** Checks that {@code kept} is a valid selection over {@code entries} and returns its common length. */
    private int checkKept(int[][][] kept, int entries) {
        Objects.requireNonNull(kept, "kept");
        if (kept.length != layers) {
            throw new IllegalArgumentException("kept lists " + kept.length + " layers, not " + layers);
        }
        int keep = -1;
        for (int l = 0; l < layers; l++) {
            if (kept[l] == null || kept[l].length != kvHeads) {
                throw new IllegalArgumentException("kept[" + l + "] must list " + kvHeads + " KV heads");
            }
            for (int g = 0; g < kvHeads; g++) {
                int[] list = kept[l][g];
                if (list == null) {
                    throw new IllegalArgumentException("kept[" + l + "][" + g + "] is null");
                }
                if (keep < 0) {
                    keep = list.length;
                } else if (list.length != keep) {
                    throw new IllegalArgumentException("every head must keep the same number of entries: kept["
                            + l + "][" + g + "] keeps " + list.length + ", kept[0][0] " + keep);
                }
                for (int i = 0; i < list.length; i++) {
                    int e = list[i];
                    if (e < 0 || e >= entries || (i > 0 && e <= list[i - 1])) {
                        throw new IllegalArgumentException("kept[" + l + "][" + g + "] must be strictly ascending"
                                + " within [0, " + entries + "); at " + i + " it holds " + e);
                    }
                }
            }
        }
        return keep;
    }

    /** Checks that no head has seen attention over more than {@code entries} entries. */
    private void checkCovers(int entries) {
        if (tallies == null) {
            return;
        }
        for (int l = 0; l < layers; l++) {
            for (int g = 0; g < kvHeads; g++) {
                int observed = tallies[l][g].observed();
                if (observed > entries) {
                    throw new IllegalArgumentException("layer " + l + ", KV head " + g + " has seen attention over "
                            + observed + " entries, more than the " + entries + " given");
                }
            }
        }
    }
}
