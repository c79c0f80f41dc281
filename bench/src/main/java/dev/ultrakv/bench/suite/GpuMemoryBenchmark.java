package dev.ultrakv.bench.suite;

/**
 * The guide's GPU memory benchmark. UltraKV runs on the CPU; until a GPU backend exists there is no GPU memory
 * of the engine to measure, and the result says so instead of failing the run (the guide's
 * {@code {"error": "CUDA not available"}}, as a plain entry).
 */
public final class GpuMemoryBenchmark {
    /** Why nothing is measured. */
    static final String NO_BACKEND = "not available: UltraKV has no GPU backend yet (the engine runs on the CPU)";

    /**
     * The figures of one run.
     *
     * @param available whether GPU memory was measured
     * @param reason    why not, when not
     */
    public record Result(boolean available, String reason) {
    }

    private GpuMemoryBenchmark() {
    }

    /** Runs the benchmark: reports that no GPU backend is present. */
    public static Result run(SuiteContext context) {
        context.progress().begin("gpu-memory", 1);
        context.progress().end();
        return new Result(false, NO_BACKEND);
    }
}
