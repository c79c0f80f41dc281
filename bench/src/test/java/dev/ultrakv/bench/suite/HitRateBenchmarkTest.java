package dev.ultrakv.bench.suite;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;

class HitRateBenchmarkTest {

    @Test
    void measuredHitRateEqualsTheWorkloadsWhenTheCacheHoldsItAll() {
        SuiteSettings quick = SuiteSettings.quick();
        SuiteSettings settings = new SuiteSettings(quick.latencyIterations(), quick.cacheLatencyIterations(),
                quick.throughputRequests(), quick.concurrencyLevels(), quick.batchRequests(), quick.batchSize(),
                quick.memoryRequests(), 400, 0.6, 0, quick.strategyRequests(), quick.strategyCacheTokens(),
                quick.strategies(), quick.workloads(), quick.configurationIterations(),
                quick.configurationRequests(), quick.configurationConcurrency(), quick.maxTokens(), 4, 0, 7);
        SuiteContext context = SuiteContext.of(settings, SuiteModel.embedded(), Progress.silent(),
                QualityProbe.NOT_MEASURED);
        HitRateBenchmark.Result result = HitRateBenchmark.run(context);
        assertEquals(400, result.requests());
        assertEquals(240, result.repeatedRequests(), "exactly round(0.6 n) repeats");
        assertEquals(0.6, result.expectedHitRate(), 1e-12);
        assertEquals(0, result.evictions());
        assertEquals(result.expectedHitRate(), result.hitRate(), 0.005);
    }

    @Test
    void repeatsAreCountedOnTheTextsSent() {
        assertEquals(2, HitRateBenchmark.repeatedRequests(List.of("a", "b", "a", "c", "b")));
    }
}
