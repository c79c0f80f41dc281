package dev.ultrakv.bench.suite;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;

class LatencyRecorderTest {

    @Test
    void percentilesAreNearestRankAndTheMomentsAreExact() {
        LatencyRecorder recorder = new LatencyRecorder();
        for (int ms = 1; ms <= 100; ms++) {
            recorder.record(ms * 1_000_000L);
        }
        LatencyStats stats = recorder.stats();
        assertEquals(100, stats.count());
        assertEquals(50.5, stats.mean(), 1e-9);
        assertEquals(1, stats.min(), 1e-9);
        assertEquals(100, stats.max(), 1e-9);
        assertEquals(50, stats.p50(), 0.05);
        assertEquals(95, stats.p95(), 0.1);
        assertEquals(99, stats.p99(), 0.1);
        assertEquals(stats.p50(), stats.median());
        assertEquals(Math.sqrt(100 * 101 / 12.0), stats.stdev(), 1e-6, "sample stdev of 1..100");
    }

    @Test
    void aSingleLatencyHasNoSpreadAndNoneGivesZeros() {
        assertEquals(LatencyStats.EMPTY, new LatencyRecorder().stats());
        LatencyRecorder one = new LatencyRecorder();
        one.record(3_000_000);
        assertEquals(0, one.stats().stdev());
        assertEquals(3, one.stats().p99(), 0.01);
    }

    @Test
    void binsCountEveryLatency() {
        LatencyRecorder recorder = new LatencyRecorder();
        for (int i = 0; i < 1000; i++) {
            recorder.record((1 + i % 10) * 1_000_000L);
        }
        double[][] bins = recorder.bins(10);
        assertEquals(1000, java.util.Arrays.stream(bins[1]).sum(), 1e-9);
        assertEquals(1, bins[0][0], 0.01);
    }
}
