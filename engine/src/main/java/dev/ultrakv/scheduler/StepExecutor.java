package dev.ultrakv.scheduler;

import dev.ultrakv.kvcache.KvStore;
import dev.ultrakv.model.ForwardState;
import dev.ultrakv.model.LlamaModel;

import java.util.Arrays;
import java.util.Objects;

/**
 * Runs a {@link StepPlan} as one forward pass of the model: every row of every sequence in the batch, so that each
 * weight matrix is read once per step for all of them (matrix-matrix), with logits only for the rows that end a
 * sequence's known tokens.
 *
 * <p>Each row's result does not depend on the rows beside it (the kernels sum in one canonical order, see
 * {@code BatchInvarianceTest}), so a sequence generates under batching what it generates alone.
 *
 * <p>Not thread-safe: owned by the step loop, with its forward buffers.
 */
public final class StepExecutor {
    private final LlamaModel model;
    private final ForwardState state;
    private final int vocabularySize;
    /** (row): the token, position and store of each row of the step. */
    private final int[] tokens;
    private final int[] positions;
    private final KvStore[] stores;
    /** Rows whose logits are wanted, ascending. */
    private final int[] logitRows;

    /** An executor for steps of up to {@code maxRows} rows. */
    public StepExecutor(LlamaModel model, int maxRows) {
        this.model = Objects.requireNonNull(model, "model");
        this.state = model.newState(maxRows);
        this.vocabularySize = model.config().vocabularySize();
        this.tokens = new int[maxRows];
        this.positions = new int[maxRows];
        this.stores = new KvStore[maxRows];
        this.logitRows = new int[maxRows];
    }

    /** Entries per logits row: the vocabulary size. */
    public int vocabularySize() {
        return vocabularySize;
    }

    /**
     * Runs the plan's rows. Call before {@link Scheduler#completeStep}.
     *
     * @return the logits of the sequences that {@linkplain SequenceState#samplesThisStep() sample}, in batch
     *         order, {@link #vocabularySize()} floats each from offset 0 (a buffer valid until the next step)
     * @throws IllegalArgumentException if the plan has more rows than this executor holds, or none
     */
    public float[] run(StepPlan<?> plan) {
        int count = 0;
        int logits = 0;
        if (plan.rows() > state.maxBatch() || plan.rows() == 0) {
            throw new IllegalArgumentException("a step of " + plan.rows() + " rows; this executor runs 1.."
                    + state.maxBatch());
        }
        for (SequenceState s : plan.batch()) {
            KvStore store = s.store();
            int from = s.computed();
            for (int i = 0; i < s.scheduledRows(); i++) {
                tokens[count] = s.token(from + i);
                positions[count] = from + i;
                stores[count] = store;
                count++;
            }
            if (s.samplesThisStep()) {
                logitRows[logits++] = count - 1;
            }
        }
        model.forward(state, count, tokens, positions, stores, Arrays.copyOf(logitRows, logits));
        Arrays.fill(stores, 0, count, null);
        return state.logits();
    }
}
