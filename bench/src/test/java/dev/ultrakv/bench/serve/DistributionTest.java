package dev.ultrakv.bench.serve;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class DistributionTest {

    @Test
    void percentiles_interpolateLikeNumpy() {
        // numpy.percentile([1, 2, 3, 4, 10], [50, 90, 95, 99]) = 3, 7.6, 8.8, 9.76; numpy.std = 3.1623
        Distribution d = Distribution.of(new double[] {10, 3, 1, 4, 2});
        assertEquals(5, d.count());
        assertEquals(4, d.mean(), 1e-12);
        assertEquals(Math.sqrt(10), d.stdev(), 1e-12);
        assertEquals(1, d.min());
        assertEquals(10, d.max());
        assertEquals(3, d.p50(), 1e-12);
        assertEquals(7.6, d.p90(), 1e-12);
        assertEquals(8.8, d.p95(), 1e-12);
        assertEquals(9.76, d.p99(), 1e-12);
    }

    @Test
    void oneValue_isEveryFigure_andNoValue_isEmpty() {
        Distribution one = Distribution.of(List.of(2.5));
        assertEquals(new Distribution(1, 2.5, 0, 2.5, 2.5, 2.5, 2.5, 2.5, 2.5), one);
        assertEquals(Distribution.EMPTY, Distribution.of(new double[0]));
    }

    @Test
    void aHundredValues_p99IsBetweenTheTopTwo() {
        double[] values = new double[100];
        for (int i = 0; i < values.length; i++) {
            values[i] = i + 1;
        }
        Distribution d = Distribution.of(values);
        assertEquals(50.5, d.p50(), 1e-12);
        assertEquals(99.01, d.p99(), 1e-9);
    }
}
