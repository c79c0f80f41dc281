package dev.ultrakv.scheduler;

import dev.ultrakv.runner.ModelRunner;
import dev.ultrakv.runner.StepBatch;

import java.util.Objects;

/**
 * Runs a {@link StepPlan} on a {@link ModelRunner}: every row of every sequence in the batch in one forward pass,
 * with logits only for the rows that end a sequence's known tokens.
 *
 * <p>Each row's result does not depend on the rows beside it (the runner's guarantee, see {@code
 * BatchInvarianceTest}), so a sequence generates under batching what it generates alone.
 *
 * <p>Not thread-safe: owned by the step loop, with its batch buffer.
 */
public final class StepExecutor {
    private final ModelRunner runner;
    private final StepBatch batch;

    /** An executor of steps on {@code runner}, of up to its {@link ModelRunner#maxRows()} rows. */
    public StepExecutor(ModelRunner runner) {
        this.runner = Objects.requireNonNull(runner, "runner");
        this.batch = new StepBatch(runner.maxRows());
    }

    /** Entries per logits row: the vocabulary size. */
    public int vocabularySize() {
        return runner.vocabularySize();
    }

    /**
     * Runs the plan's rows. Call before {@link Scheduler#completeStep}.
     *
     * @return the logits of the sequences that {@linkplain SequenceState#samplesThisStep() sample}, in batch
     *         order, {@link #vocabularySize()} floats each from offset 0 (a buffer valid until the next step)
     * @throws IllegalArgumentException if the plan has more rows than the runner takes, or none
     */
    public float[] run(StepPlan<?> plan) {
        if (plan.rows() > batch.capacity() || plan.rows() == 0) {
            throw new IllegalArgumentException("a step of " + plan.rows() + " rows; this executor runs 1.."
                    + batch.capacity());
        }
        try {
            for (SequenceState s : plan.batch()) {
                int from = s.computed();
                for (int i = 0; i < s.scheduledRows(); i++) {
                    batch.add(s.token(from + i), from + i, s.store());
                }
                if (s.samplesThisStep()) {
                    batch.wantLogitsOfLastRow();
                }
            }
            return runner.run(batch);
        } finally {
            batch.clear();
        }
    }
}
