package dev.ultrakv.bench.suite;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ResultsComparisonTest {

    @Test
    void figuresThatChangedAreListedWithTheirRatioByRowName(@TempDir Path dir) throws IOException {
        Path a = Files.createDirectory(dir.resolve("a"));
        Path b = Files.createDirectory(dir.resolve("b"));
        Files.writeString(a.resolve(SuiteReports.JSON), """
                {"benchmarks": {"throughput": {"levels": [{"concurrency": 10, "requestsPerSecond": 100.0}]},
                 "batch": {"batchSize": 50, "requestsPerSecond": 80.0}}}""");
        Files.writeString(b.resolve(SuiteReports.JSON), """
                {"benchmarks": {"throughput": {"levels": [{"concurrency": 10, "requestsPerSecond": 150.0}]},
                 "batch": {"batchSize": 50, "requestsPerSecond": 40.0}}}""");
        List<ResultsComparison.Figure> figures = ResultsComparison.compare(a, b);
        assertEquals(2, figures.size(), figures.toString());
        assertEquals("throughput.levels[c=10].requestsPerSecond", figures.get(0).path());
        assertEquals(1.5, figures.get(0).ratio(), 1e-12);
        assertEquals(0.5, figures.get(1).ratio(), 1e-12);
        assertTrue(ResultsComparison.format(a, b, figures).contains("1.500"));
    }

    @Test
    void tierFiguresAreComparedByEngineAndTierName(@TempDir Path dir) throws IOException {
        Path a = Files.createDirectory(dir.resolve("a"));
        Path b = Files.createDirectory(dir.resolve("b"));
        Files.writeString(a.resolve(SuiteReports.JSON), """
                {"benchmarks": {"batch": {"requestsPerSecond": 80.0}},
                 "tiers": {"strategies": [{"engine": "multi-turn-chat / LRU", "promotedBlocks": 10,
                                           "tiers": [{"tier": "disk", "hits": 10}]}]}}""");
        Files.writeString(b.resolve(SuiteReports.JSON), """
                {"benchmarks": {"batch": {"requestsPerSecond": 80.0}},
                 "tiers": {"strategies": [{"engine": "multi-turn-chat / LRU", "promotedBlocks": 20,
                                           "tiers": [{"tier": "disk", "hits": 30}]}]}}""");
        List<String> paths = ResultsComparison.compare(a, b).stream().map(ResultsComparison.Figure::path).toList();
        assertEquals(List.of("tiers.strategies[multi-turn-chat / LRU].promotedBlocks",
                "tiers.strategies[multi-turn-chat / LRU].tiers[disk].hits"), paths);
    }
}
