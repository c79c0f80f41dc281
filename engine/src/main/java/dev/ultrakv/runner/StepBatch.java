package dev.ultrakv.runner;

import dev.ultrakv.kvcache.KvStore;

import java.util.Arrays;
import java.util.Objects;

/**
 * The rows of one step, reused from step to step: row {@code i} is token {@link #token(int)} at position {@link
 * #position(int)} of {@link #store(int)} (its sequence's KV store, paged blocks and their table behind it), and
 * some rows ask for logits (the last known token of a sequence that samples this step).
 *
 * <p>Not thread-safe: filled and run by the step loop.
 */
public final class StepBatch {
    private final int[] tokens;
    private final int[] positions;
    private final KvStore[] stores;
    /** Rows whose logits are wanted, ascending. */
    private final int[] logitRows;
    private int rows;
    private int logits;

    /** An empty batch that can hold up to {@code maxRows} rows. */
    public StepBatch(int maxRows) {
        if (maxRows < 1) {
            throw new IllegalArgumentException("a batch holds at least one row, asked for " + maxRows);
        }
        tokens = new int[maxRows];
        positions = new int[maxRows];
        stores = new KvStore[maxRows];
        logitRows = new int[maxRows];
    }

    /** Empties the batch (and lets go of the stores it held). */
    public void clear() {
        Arrays.fill(stores, 0, rows, null);
        rows = 0;
        logits = 0;
    }

    /**
     * Adds a row.
     *
     * @throws IllegalStateException if the batch is full
     */
    public void add(int token, int position, KvStore store) {
        if (rows == tokens.length) {
            throw new IllegalStateException("the batch is full (" + rows + " rows)");
        }
        tokens[rows] = token;
        positions[rows] = position;
        stores[rows] = Objects.requireNonNull(store, "store");
        rows++;
    }

    /**
     * Asks for the logits of the last row added.
     *
     * @throws IllegalStateException if no row was added, or the last one already asks
     */
    public void wantLogitsOfLastRow() {
        if (rows == 0 || (logits > 0 && logitRows[logits - 1] == rows - 1)) {
            throw new IllegalStateException(rows == 0 ? "no row to ask logits of" : "row " + (rows - 1)
                    + " already asks for its logits");
        }
        logitRows[logits++] = rows - 1;
    }

    /** Rows added. */
    public int rows() {
        return rows;
    }

    /** The most rows this batch holds. */
    public int capacity() {
        return tokens.length;
    }

    /** The token of row {@code i}. */
    public int token(int i) {
        return tokens[Objects.checkIndex(i, rows)];
    }

    /** The position of row {@code i} in its sequence. */
    public int position(int i) {
        return positions[Objects.checkIndex(i, rows)];
    }

    /** The KV store of row {@code i}'s sequence. */
    public KvStore store(int i) {
        return stores[Objects.checkIndex(i, rows)];
    }

    /** The rows whose logits are wanted, ascending (a copy). */
    public int[] logitRows() {
        return Arrays.copyOf(logitRows, logits);
    }

    /** The tokens of the rows, for a runner (a view of {@link #rows()} entries: do not modify). */
    int[] tokenArray() {
        return tokens;
    }

    int[] positionArray() {
        return positions;
    }

    KvStore[] storeArray() {
        return stores;
    }
}
