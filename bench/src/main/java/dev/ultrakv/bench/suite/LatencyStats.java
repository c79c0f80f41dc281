package dev.ultrakv.bench.suite;

/**
 * The guide's latency figures of a set of requests, in milliseconds.
 *
 * @param count  requests measured
 * @param mean   arithmetic mean
 * @param median the middle value (equal to p50)
 * @param stdev  sample standard deviation (0 for a single request)
 * @param min    fastest
 * @param max    slowest
 * @param p50    50th percentile
 * @param p95    95th percentile
 * @param p99    99th percentile
 */
public record LatencyStats(long count, double mean, double median, double stdev, double min, double max,
                           double p50, double p95, double p99) {

    /** The figures of no request: all zero. */
    public static final LatencyStats EMPTY = new LatencyStats(0, 0, 0, 0, 0, 0, 0, 0, 0);
}
