package dev.ultrakv.bench.jmh;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;
import java.util.concurrent.TimeUnit;

import dev.ultrakv.tensor.FloatTensor;
import dev.ultrakv.tensor.GgmlType;
import dev.ultrakv.tensor.Matmul;
import dev.ultrakv.tensor.TensorEncoder;
import dev.ultrakv.tensor.Tensors;
import org.openjdk.jmh.annotations.AuxCounters;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Matrix-vector (decode) and matrix-matrix (prefill, 512 tokens) products of {@link Matmul#matmul} for each
 * weight type, on the shapes of a dim-768 model: attention (768x768), feed-forward (2048x768) and classifier
 * (32000x768). Besides calls per second, JMH reports the {@code gflop} and {@code gbyte} counters per second:
 * arithmetic throughput (compare with {@link MachineBenchmark#fma}) and weight bytes streamed (compare with
 * {@link MachineBenchmark#triad}).
 *
 * <p>Run: {@code java --add-modules jdk.incubator.vector -jar bench/target/ultrakv-benchmarks.jar KernelBenchmark
 * -f 1 -wi 2 -i 3 -w 1 -r 1}; add {@code -p type=F32 -p shape=2048x768} to narrow it.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class KernelBenchmark {

    /** Tokens of the prefill benchmark. */
    private static final int PREFILL_TOKENS = 512;

    @Param({"F32", "F16", "BF16", "Q8_0", "Q4_0"})
    public GgmlType type;

    /** rows x cols. */
    @Param({"768x768", "2048x768", "32000x768"})
    public String shape;

    private Arena arena;
    private FloatTensor weights;
    private int rows;
    private int cols;
    private float[] vector;
    private float[] vectorOut;
    private float[] batch;
    private float[] batchOut;

    /** Work counters, reported per second. */
    @State(Scope.Thread)
    @AuxCounters(AuxCounters.Type.OPERATIONS)
    public static class Work {
        /** Billions of floating-point operations (a multiply-add counts two). */
        public double gflop;
        /** Billions of weight bytes read. */
        public double gbyte;
    }

    @Setup(Level.Trial)
    public void setUp() {
        String[] dims = shape.split("x");
        rows = Integer.parseInt(dims[0]);
        cols = Integer.parseInt(dims[1]);
        Random random = new Random(42);
        float[] values = new float[rows * cols];
        for (int i = 0; i < values.length; i++) {
            values[i] = random.nextFloat() - 0.5f;
        }
        arena = Arena.ofShared();
        MemorySegment segment = arena.allocate(type.bytesFor(values.length), 64);
        TensorEncoder.encode(type, values, segment, 0);
        weights = Tensors.wrap(type, segment, values.length);
        vector = new float[cols];
        for (int i = 0; i < cols; i++) {
            vector[i] = random.nextFloat() - 0.5f;
        }
        vectorOut = new float[rows];
        batch = new float[PREFILL_TOKENS * cols];
        for (int i = 0; i < batch.length; i++) {
            batch[i] = random.nextFloat() - 0.5f;
        }
        batchOut = new float[PREFILL_TOKENS * rows];
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    /** One token of decode: W·x. */
    @Benchmark
    public float[] matvec(Work work) {
        Matmul.matmul(weights, rows, cols, vector, 1, vectorOut);
        work.gflop += 2e-9 * rows * cols;
        work.gbyte += 1e-9 * weights.segment().byteSize();
        return vectorOut;
    }

    /** A prefill of {@value #PREFILL_TOKENS} tokens: W·X. */
    @Benchmark
    public float[] matmul(Work work) {
        Matmul.matmul(weights, rows, cols, batch, PREFILL_TOKENS, batchOut);
        work.gflop += 2e-9 * rows * cols * PREFILL_TOKENS;
        work.gbyte += 1e-9 * weights.segment().byteSize();
        return batchOut;
    }
}
