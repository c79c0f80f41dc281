package dev.ultrakv.bench.serve;

import java.util.Arrays;
import java.util.Collection;

/**
 * Summary figures of a set of measurements, in milliseconds: what {@code bench serve} reports for time to first
 * token, time per output token, inter-token latency and end-to-end latency.
 *
 * <h2>Notes</h2>
 * The figures are computed as vLLM's {@code benchmark_serving} computes its own (with numpy), so that the two can
 * be set side by side: percentiles interpolate linearly between the two nearest ranks ({@code numpy.percentile}'s
 * default), and the standard deviation is the population's ({@code numpy.std}). Every value is kept (a run has
 * thousands, not millions), so the percentiles are exact, unlike the suite's HdrHistogram figures.
 *
 * @param count values
 * @param mean  arithmetic mean
 * @param stdev population standard deviation
 * @param min   smallest
 * @param max   largest
 * @param p50   median
 * @param p90   90th percentile
 * @param p95   95th percentile
 * @param p99   99th percentile
 */
public record Distribution(long count, double mean, double stdev, double min, double max, double p50, double p90,
                           double p95, double p99) {

    /** The figures of no value: all zero. */
    public static final Distribution EMPTY = new Distribution(0, 0, 0, 0, 0, 0, 0, 0, 0);

    /** The figures of {@code values}. */
    public static Distribution of(Collection<Double> values) {
        return of(values.stream().mapToDouble(Double::doubleValue).toArray());
    }

    /** The figures of {@code values} (not modified). */
    public static Distribution of(double[] values) {
        if (values.length == 0) {
            return EMPTY;
        }
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        double sum = 0;
        for (double v : sorted) {
            sum += v;
        }
        double mean = sum / sorted.length;
        double squares = 0;
        for (double v : sorted) {
            squares += (v - mean) * (v - mean);
        }
        return new Distribution(sorted.length, mean, Math.sqrt(squares / sorted.length), sorted[0],
                sorted[sorted.length - 1], percentile(sorted, 50), percentile(sorted, 90), percentile(sorted, 95),
                percentile(sorted, 99));
    }

    /**
     * The {@code p}th percentile of ascending {@code sorted}, interpolated linearly between the values at ranks
     * floor and ceiling of {@code p / 100 × (n - 1)}.
     */
    static double percentile(double[] sorted, double p) {
        double rank = p / 100 * (sorted.length - 1);
        int low = (int) Math.floor(rank);
        int high = Math.min(sorted.length - 1, low + 1);
        return sorted[low] + (sorted[high] - sorted[low]) * (rank - low);
    }
}
