package dev.ultrakv.bench.suite;

import org.HdrHistogram.Histogram;

import java.util.concurrent.TimeUnit;

/**
 * Collects request latencies and summarizes them as {@link LatencyStats}. Thread-safe: completions may be
 * recorded from the engine's threads while the benchmark thread submits.
 *
 * <h2>Notes</h2>
 * <b>Percentiles</b> come from an HdrHistogram with {@value #SIGNIFICANT_DIGITS} significant digits, so a run of
 * any length costs a fixed few tens of kilobytes and every percentile is a recorded value within 0.1%. The
 * guide's own percentile ({@code sorted[int(n * p / 100)]}) reads past the end for p = 100 and is biased up by
 * one rank; HdrHistogram's is the usual nearest rank. The mean, minimum, maximum and standard deviation are kept
 * exactly beside it.
 * <p><b>Coordinated omission.</b> The suite's loads are closed: a request is sent when an earlier one completes
 * (one at a time, or a fixed number in flight), so no request has an intended start that a slow one delays and
 * nothing needs correcting: a load sent at a fixed rate would record through HdrHistogram's
 * {@code recordValueWithExpectedInterval}, which adds the requests a stall kept from being sent.
 */
public final class LatencyRecorder {
    /** 0.1% resolution. */
    static final int SIGNIFICANT_DIGITS = 3;
    private static final double NANOS_PER_MILLI = 1e6;

    private final Histogram histogram = new Histogram(SIGNIFICANT_DIGITS);
    private long count;
    private double sum;
    private double sumOfSquares;
    private long min = Long.MAX_VALUE;
    private long max;

    /** Records one latency. */
    public synchronized void record(long nanos) {
        long value = Math.max(0, nanos);
        histogram.recordValue(value);
        count++;
        sum += value;
        sumOfSquares += (double) value * value;
        min = Math.min(min, value);
        max = Math.max(max, value);
    }

    /** Latencies recorded. */
    public synchronized long count() {
        return count;
    }

    /** The figures so far, in milliseconds. */
    public synchronized LatencyStats stats() {
        if (count == 0) {
            return LatencyStats.EMPTY;
        }
        double mean = sum / count;
        double variance = count > 1 ? Math.max(0, (sumOfSquares - count * mean * mean) / (count - 1)) : 0;
        double p50 = millis(histogram.getValueAtPercentile(50));
        return new LatencyStats(count, mean / NANOS_PER_MILLI, p50, Math.sqrt(variance) / NANOS_PER_MILLI,
                min / NANOS_PER_MILLI, max / NANOS_PER_MILLI, p50, millis(histogram.getValueAtPercentile(95)),
                millis(histogram.getValueAtPercentile(99)));
    }

    /**
     * Counts of latencies in {@code bins} equal bins from the minimum to the maximum, for a histogram chart; the
     * first array holds the bins' lower edges in milliseconds, the second the counts.
     */
    public synchronized double[][] bins(int bins) {
        double[] edges = new double[bins];
        double[] counts = new double[bins];
        if (count == 0) {
            return new double[][] {edges, counts};
        }
        double low = min / NANOS_PER_MILLI;
        double width = Math.max(1e-6, (max / NANOS_PER_MILLI - low) / bins);
        for (int b = 0; b < bins; b++) {
            edges[b] = low + b * width;
        }
        for (var value : histogram.recordedValues()) {
            double ms = histogram.medianEquivalentValue(value.getValueIteratedTo()) / NANOS_PER_MILLI;
            int b = (int) Math.min(bins - 1, Math.max(0, (ms - low) / width));
            counts[b] += value.getCountAtValueIteratedTo();
        }
        return new double[][] {edges, counts};
    }

    private static double millis(long nanos) {
        return TimeUnit.NANOSECONDS.toMicros(nanos) / 1e3;
    }
}
