package dev.ultrakv.quality;

/**
 * What one candidate gave on one text cut to one length, against the reference in the same passes.
 *
 * @param candidate          the cache setting measured
 * @param text               index of the text
 * @param length             tokens of the text used: the prompt, then the forced continuation
 * @param positions          forced positions compared: one per continuation token
 * @param klSum              sum over those positions of {@code KL(reference ‖ candidate)}, in nats
 * @param klMax              the largest of them
 * @param top1Matches        positions where both caches' most likely next token is the same
 * @param nll                the candidate's negative log-likelihood of the true continuation, summed, in nats
 * @param referenceNll       the reference's, likewise
 * @param greedyTokens       tokens compared in the greedy runs from the prompt (at most)
 * @param firstDivergence    index of the first greedy token that differs from the reference's, or
 *                           {@link #NO_DIVERGENCE}
 */
public record RunMeasurement(KvCandidate candidate, int text, int length, int positions, double klSum,
                             double klMax, int top1Matches, double nll, double referenceNll, int greedyTokens,
                             int firstDivergence) {
    /** {@link #firstDivergence()} of greedy runs that agreed to the end. */
    public static final int NO_DIVERGENCE = -1;

    /** Whether the greedy runs differed. */
    public boolean diverged() {
        return firstDivergence != NO_DIVERGENCE;
    }
}
