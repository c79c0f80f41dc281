package dev.ultrakv.bench.jmh;

import java.util.concurrent.TimeUnit;

import dev.ultrakv.tensor.MachinePeaks;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The machine's ceilings, with all cores: STREAM-style triad bandwidth ({@code gbyte} per second, 12 bytes per
 * element over three 64 MiB arrays) and register-resident vector FMA throughput ({@code gflop} per second). See
 * {@link MachinePeaks} for the method; the kernels' counters in {@link KernelBenchmark} compare against these.
 *
 * <p>Run: {@code java --add-modules jdk.incubator.vector -jar bench/target/ultrakv-benchmarks.jar MachineBenchmark
 * -f 1 -wi 2 -i 3 -w 1 -r 1}.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class MachineBenchmark {

    /** Floats per triad array: 64 MiB each. */
    private static final long TRIAD_FLOATS = 16L << 20;
    /** FMA chain steps per thread and call: a few milliseconds. */
    private static final long FMA_ITERATIONS = 1 << 20;

    private MachinePeaks.TriadArrays arrays;

    /** Work counters, reported per second. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Work {
        /** Billions of floating-point operations. */
        public double gflop;
        /** Billions of bytes moved, counted as STREAM does. */
        public double gbyte;
    }

    @Setup(Level.Trial)
    public void setUp() {
        arrays = new MachinePeaks.TriadArrays(TRIAD_FLOATS);
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arrays.close();
    }

    /** One triad pass {@code a = b + s·c} over all cores. */
    @Benchmark
    public void triad(Work work) {
        work.gbyte += 1e-9 * arrays.pass();
    }

    /** Independent vector FMA chains on every core. */
    @Benchmark
    public void fma(Work work) {
        work.gflop += 1e-9 * MachinePeaks.fmaPass(FMA_ITERATIONS);
    }
}
