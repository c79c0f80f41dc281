package dev.ultrakv.quality;

import java.util.Arrays;
import java.util.List;

/**
 * A candidate's measurements over several runs (texts and lengths), each position weighing the same.
 *
 * @param runs                   runs aggregated
 * @param positions              forced positions compared, over all runs
 * @param meanKl                 mean {@code KL(reference ‖ candidate)} per position, in nats
 * @param maxKl                  the largest at any position
 * @param top1Agreement          fraction of positions whose most likely next token is the reference's
 * @param perplexity             the candidate's perplexity on the true continuations
 * @param referencePerplexity    the reference's, on the same tokens
 * @param divergedRuns           runs whose greedy generation differed from the reference's
 * @param medianFirstDivergence  median index of the first differing greedy token over the runs that diverged;
 *                               NaN when none did
 */
public record QualityStats(int runs, long positions, double meanKl, double maxKl, double top1Agreement,
                           double perplexity, double referencePerplexity, int divergedRuns,
                           double medianFirstDivergence) {

    /**
     * Aggregates {@code measurements}.
     *
     * @throws IllegalArgumentException if there are none
     */
    public static QualityStats of(List<RunMeasurement> measurements) {
        if (measurements.isEmpty()) {
            throw new IllegalArgumentException("no runs to aggregate");
        }
        long positions = 0;
        long matches = 0;
        double kl = 0;
        double klMax = 0;
        double nll = 0;
        double referenceNll = 0;
        int[] divergences = new int[measurements.size()];
        int diverged = 0;
        for (RunMeasurement m : measurements) {
            positions += m.positions();
            matches += m.top1Matches();
            kl += m.klSum();
            klMax = Math.max(klMax, m.klMax());
            nll += m.nll();
            referenceNll += m.referenceNll();
            if (m.diverged()) {
                divergences[diverged++] = m.firstDivergence();
            }
        }
        return new QualityStats(measurements.size(), positions, kl / positions, klMax, (double) matches / positions,
                Math.exp(nll / positions), Math.exp(referenceNll / positions), diverged,
                median(Arrays.copyOf(divergences, diverged)));
    }

    /** The median of {@code values} (the mean of the middle two for an even count), NaN when empty. */
    static double median(int[] values) {
        if (values.length == 0) {
            return Double.NaN;
        }
        int[] sorted = values.clone();
        Arrays.sort(sorted);
        int middle = sorted.length / 2;
        return sorted.length % 2 == 1 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2.0;
    }
}
