package dev.ultrakv.runner;

import dev.ultrakv.model.ForwardState;
import dev.ultrakv.model.LlamaModel;

import java.util.Objects;

/**
 * Runs steps on the CPU: {@link LlamaModel#forward} over all of a step's rows at once, so that each weight matrix
 * is read once per step for all of them (matrix-matrix), with the Vector API kernels, whose canonical summation
 * order keeps each row's result independent of its batch.
 *
 * <p>Holds the forward buffers for {@link #maxRows()} rows; does not own the model (its owner closes it).
 */
public final class CpuModelRunner implements ModelRunner {
    private final LlamaModel model;
    private final ForwardState state;

    /** A runner of steps of up to {@code maxRows} rows of {@code model}. */
    public CpuModelRunner(LlamaModel model, int maxRows) {
        this.model = Objects.requireNonNull(model, "model");
        this.state = model.newState(maxRows);
    }

    @Override
    public int maxRows() {
        return state.maxBatch();
    }

    @Override
    public int vocabularySize() {
        return model.config().vocabularySize();
    }

    @Override
    public float[] run(StepBatch batch) {
        if (batch.rows() == 0 || batch.rows() > state.maxBatch()) {
            throw new IllegalArgumentException("a step of " + batch.rows() + " rows; this runner runs 1.."
                    + state.maxBatch());
        }
        model.forward(state, batch.rows(), batch.tokenArray(), batch.positionArray(), batch.storeArray(),
                batch.logitRows());
        return state.logits();
    }
}
