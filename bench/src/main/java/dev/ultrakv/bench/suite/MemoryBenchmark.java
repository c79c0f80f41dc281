package dev.ultrakv.bench.suite;

import dev.ultrakv.EngineStats;
import dev.ultrakv.KVCacheConfig;
import dev.ultrakv.Request;

import java.util.List;
import java.util.stream.IntStream;

/**
 * The guide's memory usage: the process's resident memory before an engine starts, after it has served
 * {@code "Query i"} requests, and at its peak in between, with the Java heap and the KV cache's own bytes.
 *
 * <h2>Notes</h2>
 * <b>What moves the resident set.</b> The KV cache's blocks are allocated off-heap, all at once, when the engine
 * starts: the increase is mostly the cache's capacity, not per-request growth, so memory per request is small
 * once the cache is warm and a figure per request is an average over the run. The heap is measured after a
 * {@code System.gc()} request, which the JVM may ignore; the heap figures are indicative.
 */
public final class MemoryBenchmark {
    private static final double MIB = 1024.0 * 1024;

    /**
     * The figures of one run.
     *
     * @param requests            requests served
     * @param rssAvailable        whether the resident set size could be read (Linux)
     * @param initialRssMb        resident set before the engine started
     * @param finalRssMb          resident set after the requests, engine still open
     * @param peakRssMb           peak resident set during the benchmark ({@code VmHWM})
     * @param peakSinceBenchmark  whether the peak was reset at the start (otherwise it counts from process start)
     * @param rssIncreaseMb       final minus initial
     * @param memoryPerRequestKb  the increase per request, in KiB
     * @param heapUsedInitialMb   Java heap in use before
     * @param heapUsedFinalMb     Java heap in use after
     * @param heapMaxMb           the heap's limit
     * @param kvBytesInUse        bytes of the KV blocks in use at the end
     * @param kvBytesCapacity     bytes of all KV blocks
     */
    public record Result(int requests, boolean rssAvailable, double initialRssMb, double finalRssMb,
                         double peakRssMb, boolean peakSinceBenchmark, double rssIncreaseMb,
                         double memoryPerRequestKb, double heapUsedInitialMb, double heapUsedFinalMb,
                         double heapMaxMb, long kvBytesInUse, long kvBytesCapacity) {
    }

    private MemoryBenchmark() {
    }

    /** Runs the benchmark on the suite's default configuration. */
    public static Result run(SuiteContext context) {
        context.progress().begin("memory", context.settings().memoryRequests());
        Result result = run(context, context.baseConfig(), context.settings().memoryRequests());
        context.progress().end();
        return result;
    }

    /** Runs {@code requests} requests on a fresh engine of {@code config}, measuring around it. */
    static Result run(SuiteContext context, KVCacheConfig.Builder config, int requests) {
        List<Request> sent = IntStream.range(0, requests).mapToObj(i -> context.request("Query " + i)).toList();
        Measurement start = Measurement.start();
        try (var engine = context.engine("memory", config)) {
            EngineRuns.sequential(engine, sent, new LatencyRecorder(), context.progress());
            return start.finish(requests, engine.getStats());
        }
    }

    /** The figures taken before a run, finished after it. */
    record Measurement(ProcessMemory initial, long heapInitial, boolean peakReset) {

        static Measurement start() {
            System.gc();
            boolean reset = ProcessMemory.resetPeak();
            return new Measurement(ProcessMemory.read(), heapUsed(), reset);
        }

        Result finish(int requests, EngineStats stats) {
            System.gc();
            ProcessMemory end = ProcessMemory.read();
            double increase = (end.rssBytes() - initial.rssBytes()) / MIB;
            return new Result(requests, end.available(), initial.rssBytes() / MIB, end.rssBytes() / MIB,
                    end.peakBytes() / MIB, peakReset, increase, increase * 1024 / requests, heapInitial / MIB,
                    heapUsed() / MIB, Runtime.getRuntime().maxMemory() / MIB, stats.kvBytesInUse(),
                    stats.kvBytesCapacity());
        }

        private static long heapUsed() {
            Runtime runtime = Runtime.getRuntime();
            return runtime.totalMemory() - runtime.freeMemory();
        }
    }
}
