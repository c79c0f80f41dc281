package dev.ultrakv.bench.suite;

import dev.ultrakv.Request;
import dev.ultrakv.RequestResult;

import java.util.List;
import java.util.stream.IntStream;

/**
 * The guide's batch throughput: {@code "Query i"} requests handed to {@code processBatchOptimized} a batch at a
 * time, each batch awaited before the next is sent.
 */
public final class BatchBenchmark {

    /**
     * The figures of one run.
     *
     * @param requests                 requests sent
     * @param batchSize                requests per call
     * @param durationSeconds          from the first call to the last batch's results
     * @param requestsPerSecond        requests per second
     * @param generatedTokensPerSecond tokens generated per second
     * @param meanBatchMs              mean time of one batch call
     */
    public record Result(int requests, int batchSize, double durationSeconds, double requestsPerSecond,
                        double generatedTokensPerSecond, double meanBatchMs) {
    }

    private BatchBenchmark() {
    }

    /** Runs the benchmark. */
    public static Result run(SuiteContext context) {
        int count = context.settings().batchRequests();
        int batchSize = context.settings().batchSize();
        List<Request> requests = IntStream.range(0, count).mapToObj(i -> context.request("Query " + i)).toList();
        long tokens = 0;
        int batches = 0;
        context.progress().begin("batch", count);
        double seconds;
        try (var engine = context.engine("batch", context.baseConfig())) {
            long start = System.nanoTime();
            for (int from = 0; from < count; from += batchSize) {
                List<Request> batch = requests.subList(from, Math.min(count, from + batchSize));
                for (RequestResult result : engine.processBatchOptimized(batch, batchSize).join()) {
                    tokens += result.generatedTokens();
                }
                batches++;
                context.progress().advance(batch.size());
            }
            seconds = (System.nanoTime() - start) / 1e9;
        }
        context.progress().end();
        return new Result(count, batchSize, seconds, count / seconds, tokens / seconds, seconds * 1000 / batches);
    }
}
