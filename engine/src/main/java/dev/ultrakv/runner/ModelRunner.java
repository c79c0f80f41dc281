package dev.ultrakv.runner;

/**
 * Executes one step's forward pass: the rows of a {@link StepBatch} (token ids at positions of their sequences'
 * KV stores), writing each row's keys and values into its store and returning the logits of the rows that ask for
 * them. The engine's step loop is its only caller.
 *
 * <p>Implementations must keep the engine's guarantee that a row's logits do not depend on the other rows of its
 * batch (see {@code BatchInvarianceTest}): a sequence generates batched what it generates alone. They are not
 * thread-safe: one runner per engine, called by its step loop.
 */
public interface ModelRunner {

    /** The most rows one {@link #run} takes. */
    int maxRows();

    /** Entries per logits row: the model's vocabulary size. */
    int vocabularySize();

    /**
     * Runs {@code batch}'s rows in one forward pass.
     *
     * @return the logits of the batch's {@linkplain StepBatch#logitRows() logit rows}, in their order, {@link
     *         #vocabularySize()} floats each from offset 0: a buffer of the runner's, valid until the next run
     * @throws IllegalArgumentException if the batch is empty or has more than {@link #maxRows()} rows, or a row's
     *                                  token or position is outside the model's vocabulary or context
     */
    float[] run(StepBatch batch);
}
