package dev.ultrakv.scheduler;

import java.util.List;

/**
 * What one step runs, as the {@link Scheduler} decided it: the batch, each sequence with its
 * {@linkplain SequenceState#scheduledRows() rows} (its next token in decode, a chunk of its prompt in prefill),
 * in the order the rows go into the forward pass.
 *
 * @param step      the step's number, from 1
 * @param batch     the sequences with rows in this step
 * @param rows      rows in all: at most the step's token budget
 * @param admitted  sequences admitted in this step, a first time or again after a preemption
 * @param preempted sequences preempted in this step; they wait again
 * @param refused   sequences that can never be admitted (the cache cannot hold them even alone); they are
 *                  removed and the caller fails them
 * @param <S>       the scheduler's sequence type
 * @param failed    sequences whose admission or growth threw: each was dropped from the scheduler and the cache
 *                  (its blocks freed) and the caller fails it with the cause; the others go on
 */
public record StepPlan<S extends SequenceState>(long step, List<S> batch, int rows, List<S> admitted,
                                                List<S> preempted, List<S> refused, List<Failure<S>> failed) {

    /** A sequence the scheduler dropped because handling it threw, and what it threw. */
    public record Failure<S extends SequenceState>(S sequence, RuntimeException cause) {
    }

    /** The step of {@code sequence} alone, with the rows it has in this one (a failed step runs each again). */
    public StepPlan<S> alone(S sequence) {
        return new StepPlan<>(step, List.of(sequence), sequence.scheduledRows(), List.of(), List.of(), List.of(),
                List.of());
    }

    /** Whether the step has nothing to run. */
    public boolean isEmpty() {
        return rows == 0;
    }
}
