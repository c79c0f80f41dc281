package dev.ultrakv.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.ByteOrder;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Measures what this machine can do at best, with all cores and the same vector width the kernels use, so that
 * kernel speeds can be reported as fractions of it: memory bandwidth (a STREAM-style triad) for decode, which
 * streams the weights once per token, and fused multiply-add throughput for prefill, which reuses them.
 *
 * <p>Each measurement takes a second or two. Both are best-of-several, as STREAM reports.
 *
 * <h2>Notes</h2>
 * The triad {@code a[i] = b[i] + s * c[i]} runs over three off-heap arrays of {@value #TRIAD_MIB} MiB, far
 * larger than any L3, and counts 12 bytes per element (two reads and one write) as STREAM does; write-allocate
 * traffic, which STREAM's compiled C also incurs without counting, is not added. The FMA peak runs
 * {@value #FMA_CHAINS} independent chains of vector FMAs per thread, enough to cover the FMA latency times the
 * number of FMA pipes on current x86 cores, entirely in registers.
 */
public final class MachinePeaks {

    /** Size of each triad array: 64 MiB, well beyond the last-level cache of a desktop or server CPU. */
    static final int TRIAD_MIB = 64;
    /** Independent FMA accumulator chains per thread: latency (4 cycles) x FMA pipes (2), with margin. */
    static final int FMA_CHAINS = 12;
    /** Inner iterations of one FMA pass per thread: a few milliseconds, so passes can be timed singly. */
    private static final long FMA_PASS_ITERATIONS = 1 << 20;
    /** How long each measurement repeats passes for, taking the best. */
    private static final long MEASURE_NANOS = 1_000_000_000L;
    /**
     * How long short FMA passes run first, so that C2 has compiled the chains before a long pass is timed (a count
     * of passes was not enough on a loaded machine: a pass still interpreted then measured 1000x too slow).
     */
    private static final long JIT_WARMUP_NANOS = 500_000_000L;
    /** Passes run first and not counted, so the kernels are compiled and pages touched. */
    private static final int WARMUP_PASSES = 3;

    private MachinePeaks() {
    }

    /**
     * Best sustained memory bandwidth of a triad over all cores, in bytes per second.
     */
    public static double measureTriadBandwidth() {
        try (TriadArrays arrays = new TriadArrays((long) TRIAD_MIB << 20 >> 2)) {
            for (int i = 0; i < WARMUP_PASSES; i++) {
                arrays.pass();
            }
            double best = 0;
            long start = System.nanoTime();
            do {
                long t0 = System.nanoTime();
                long bytes = arrays.pass();
                best = Math.max(best, bytes * 1e9 / (System.nanoTime() - t0));
            } while (System.nanoTime() - start < MEASURE_NANOS);
            return best;
        }
    }

    /**
     * Best throughput of register-resident vector FMAs over all cores, in floating-point operations per second
     * (an FMA of {@code n} lanes counts {@code 2n}).
     */
    public static double measurePeakFmaFlops() {
        // Short passes first: the interpreter runs vector code slowly until the JIT compiles it.
        long warmupStart = System.nanoTime();
        while (System.nanoTime() - warmupStart < JIT_WARMUP_NANOS) {
            fmaPass(FMA_PASS_ITERATIONS >> 10);
        }
        double best = 0;
        long start = System.nanoTime();
        do {
            long t0 = System.nanoTime();
            long flops = fmaPass(FMA_PASS_ITERATIONS);
            best = Math.max(best, flops * 1e9 / (System.nanoTime() - t0));
        } while (System.nanoTime() - start < MEASURE_NANOS);
        return best;
    }

    /**
     * One pass of {@value #FMA_CHAINS} FMA chains of {@code iterations} steps on every core.
     *
     * @return floating-point operations done
     */
    public static long fmaPass(long iterations) {
        int threads = Parallel.threads();
        float[] sink = new float[threads];
        Parallel.forRange(threads, 1, (from, to) -> {
            for (int t = from; t < to; t++) {
                sink[t] = fmaChains(iterations, t);
            }
        });
        float check = 0;
        for (float s : sink) {
            check += s;
        }
        if (check == Float.MIN_VALUE) {
            // Never true; reading the sums keeps the chains from being optimised away.
            throw new AssertionError();
        }
        return 2L * iterations * FMA_CHAINS * WeightKernels.L * threads;
    }

    /** a = a·m + c converges to 1 from any start, so the chains never overflow or turn subnormal. */
    private static float fmaChains(long iterations, int seed) {
        FloatVector m = FloatVector.broadcast(WeightKernels.F, 0.999f);
        FloatVector c = FloatVector.broadcast(WeightKernels.F, 0.001f);
        FloatVector a0 = FloatVector.broadcast(WeightKernels.F, seed + 0.1f);
        FloatVector a1 = a0.add(0.01f), a2 = a0.add(0.02f), a3 = a0.add(0.03f);
        FloatVector a4 = a0.add(0.04f), a5 = a0.add(0.05f), a6 = a0.add(0.06f), a7 = a0.add(0.07f);
        FloatVector a8 = a0.add(0.08f), a9 = a0.add(0.09f), a10 = a0.add(0.10f), a11 = a0.add(0.11f);
        for (long i = 0; i < iterations; i++) {
            a0 = a0.fma(m, c);
            a1 = a1.fma(m, c);
            a2 = a2.fma(m, c);
            a3 = a3.fma(m, c);
            a4 = a4.fma(m, c);
            a5 = a5.fma(m, c);
            a6 = a6.fma(m, c);
            a7 = a7.fma(m, c);
            a8 = a8.fma(m, c);
            a9 = a9.fma(m, c);
            a10 = a10.fma(m, c);
            a11 = a11.fma(m, c);
        }
        return a0.add(a1).add(a2).add(a3).add(a4).add(a5).add(a6).add(a7).add(a8).add(a9).add(a10).add(a11)
                .reduceLanes(VectorOperators.ADD);
    }

    /** Three off-heap float arrays for triad passes {@code a = b + s·c}; closing frees them. */
    public static final class TriadArrays implements AutoCloseable {
        /** Floats copied per bulk fill of the input arrays. */
        private static final int FILL_CHUNK = 1 << 16;
        private final Arena arena = Arena.ofShared();
        private final MemorySegment a;
        private final MemorySegment b;
        private final MemorySegment c;
        private final long floats;

        /** Allocates three arrays of {@code floats} floats (a multiple of the vector length), b and c filled. */
        public TriadArrays(long floats) {
            if (floats % WeightKernels.L != 0) {
                throw new IllegalArgumentException("triad length " + floats + " is not a multiple of "
                        + WeightKernels.L);
            }
            this.floats = floats;
            long bytes = floats * Float.BYTES;
            a = arena.allocate(bytes, 4096);
            b = arena.allocate(bytes, 4096);
            c = arena.allocate(bytes, 4096);
            float[] ones = new float[FILL_CHUNK];
            float[] twos = new float[FILL_CHUNK];
            java.util.Arrays.fill(ones, 1f);
            java.util.Arrays.fill(twos, 2f);
            for (long i = 0; i < floats; i += FILL_CHUNK) {
                int n = (int) Math.min(FILL_CHUNK, floats - i);
                MemorySegment.copy(ones, 0, b, WeightKernels.F32_LE, i * Float.BYTES, n);
                MemorySegment.copy(twos, 0, c, WeightKernels.F32_LE, i * Float.BYTES, n);
            }
        }

        /**
         * One triad pass over all cores.
         *
         * @return bytes counted as moved, STREAM's way: 12 per element
         */
        public long pass() {
            int vectors = Math.toIntExact(floats / WeightKernels.L);
            int grain = Math.max(1, vectors / Parallel.threads());
            FloatVector s = FloatVector.broadcast(WeightKernels.F, 3f);
            long step = WeightKernels.F.vectorByteSize();
            Parallel.forRange(vectors, grain, (from, to) -> {
                for (long o = from * step, end = to * step; o < end; o += step) {
                    FloatVector cv = FloatVector.fromMemorySegment(WeightKernels.F, c, o, ByteOrder.LITTLE_ENDIAN);
                    FloatVector bv = FloatVector.fromMemorySegment(WeightKernels.F, b, o, ByteOrder.LITTLE_ENDIAN);
                    cv.fma(s, bv).intoMemorySegment(a, o, ByteOrder.LITTLE_ENDIAN);
                }
            });
            return 3 * floats * Float.BYTES;
        }

        @Override
        public void close() {
            arena.close();
        }
    }
}
