package dev.ultrakv.bench.serve;

import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

class ServeBenchmarkSummaryTest {
    private static final long MS = 1_000_000;

    /** Sent at 0, chunks at 100, 110, 130 ms, body ended at 140 ms; 4 output tokens (one chunk held two). */
    private static RequestRecord streamed() {
        return new RequestRecord(0, new long[] {100 * MS, 110 * MS, 130 * MS}, 140 * MS, 20, 4, 15, null, "abc");
    }

    @Test
    void ttftTpotItlAndEndToEnd_fromTimestamps() {
        RequestRecord r = streamed();
        assertEquals(100, r.ttftMs(), 1e-9);
        assertEquals(140, r.e2eMs(), 1e-9);
        assertEquals((140 - 100) / 3.0, r.tpotMs(), 1e-9, "(e2e - ttft) / (tokens - 1)");
        assertArrayEquals(new double[] {10, 20}, r.itlMs(), 1e-9);
    }

    @Test
    void aNonStreamedResponse_hasNoTtftNorTpot() {
        var r = new RequestRecord(5 * MS, new long[0], 55 * MS, 10, 8, -1, null, "x");
        assertFalse(r.hasFirstToken());
        assertFalse(r.hasTpot());
        assertEquals(50, r.e2eMs(), 1e-9);
        assertEquals(0, r.itlMs().length);
    }

    @Test
    void summarize_countsThroughputsLatenciesCacheShareAndErrorsByStatus() {
        var other = new RequestRecord(0, new long[] {50 * MS, 60 * MS}, 60 * MS, 30, 2, 0, null, "de");
        List<RequestRecord> records = List.of(streamed(), other,
                RequestRecord.failed(0, MS, "429", "{\"error\": {\"message\": \"queue full\"}}"),
                RequestRecord.failed(0, MS, "429", "second"), RequestRecord.failed(0, MS, "timeout", "late"));
        ServeBenchmark.Level level = ServeBenchmark.summarize(4, 6, records, 1, 2_000 * MS);
        assertEquals(4, level.concurrency());
        assertEquals(6, level.requests());
        assertEquals(2, level.completed());
        assertEquals(3, level.failed());
        assertEquals(1, level.notSent());
        assertEquals(2.0, level.durationSeconds(), 1e-12);
        assertEquals(1.0, level.requestsPerSecond(), 1e-12);
        assertEquals(3.0, level.outputTokensPerSecond(), 1e-12, "(4 + 2) tokens / 2 s");
        assertEquals(28.0, level.totalTokensPerSecond(), 1e-12, "(20 + 30 + 6) / 2 s");
        assertEquals(15.0 / 50, level.cachedTokenShare(), 1e-12);
        assertEquals(2, level.cachedTokensReported());
        assertEquals(Map.of("429", 2, "timeout", 1), level.errors());
        assertEquals("{\"error\": {\"message\": \"queue full\"}}", level.errorExamples().get("429"));
        assertEquals(2, level.ttft().count());
        assertEquals(75, level.ttft().mean(), 1e-9);
        assertEquals(3, level.itl().count(), "10, 20 and 10 ms");
        assertEquals(10, level.itl().p50(), 1e-9);
        assertEquals(2, level.tpot().count());
        assertEquals((40.0 / 3 + 10) / 2, level.tpot().mean(), 1e-9);
        assertEquals(100, level.e2el().mean(), 1e-9);
    }

    @Test
    void noServerSaidWhatWasCached_isNullNotZero() {
        var r = new RequestRecord(0, new long[0], MS, 10, 3, -1, null, "x");
        assertNull(ServeBenchmark.summarize(1, 1, List.of(r), 0, MS).cachedTokenShare());
    }
}
