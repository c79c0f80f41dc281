package dev.ultrakv.tensor;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Splits loops of independent iterations across all cores.
 *
 * <p>One fixed pool of daemon worker threads, sized to {@link Runtime#availableProcessors()}, serves the
 * whole process. The calling thread works on the loop too, so a loop too small to be worth a hand-off runs on
 * the caller alone.
 *
 * <h2>Notes</h2>
 * A loop is cut into equal, contiguous chunks, up to {@value #CHUNKS_PER_THREAD} per thread, which the caller
 * and up to {@code threads - 1} helpers claim one at a time from a shared counter: kernels split uniform work
 * (rows of a matrix), but cores are not uniform when the OS or another process takes one for a while. A loop
 * started from inside one of the pool's own workers runs inline rather than waiting on the pool it occupies.
 */
public final class Parallel {

    /** The most threads {@link #setThreads} accepts. */
    public static final int MAX_THREADS = 1024;
    /** Threads asked for by {@link #setThreads} before the pool started; 0 for one per core. */
    private static int requestedThreads;
    /** Whether the pool has started (its size is then fixed). */
    private static boolean started;
    /**
     * Chunks per thread a loop is cut into at most: a thread slowed by the OS or another process leaves its
     * unclaimed chunks to the others instead of holding everyone up, at a cost of a few atomic increments.
     */
    static final int CHUNKS_PER_THREAD = 4;

    /** The pool, started by the first use of {@link Parallel} that needs it (the holder idiom). */
    private static final class Pool {
        static final int THREADS = startedThreads();
        static final ForkJoinPool POOL = new ForkJoinPool(THREADS, pool -> {
            ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
            t.setName("ultrakv-kernel-" + t.getPoolIndex());
            t.setDaemon(true);
            return t;
        }, null, false);
    }

    /** The body of a parallel loop: runs iterations {@code [from, to)}. */
    @FunctionalInterface
    public interface RangeTask {
        /** Runs iterations {@code [from, to)}; called concurrently for disjoint ranges. */
        void run(int from, int to);
    }

    /** A thread that owns nothing: only segments that any thread may access are accessible by it. */
    private static final Thread STRANGER = Thread.ofPlatform().unstarted(() -> { });

    private Parallel() {
    }

    /**
     * Sets how many threads kernels use (as llama.cpp's {@code -t}), before any kernel has run: the pool is sized
     * once per process.
     *
     * @throws IllegalArgumentException if {@code threads} is outside {@code [1, MAX_THREADS]}
     * @throws IllegalStateException    if the pool already runs with another count
     */
    public static synchronized void setThreads(int threads) {
        checkThreads("threads", threads);
        if (started && Pool.THREADS != threads) {
            throw new IllegalStateException("the kernel threads already run with " + Pool.THREADS
                    + " threads; set the count before the first model runs");
        }
        requestedThreads = threads;
    }

    /**
     * {@link #setThreads} for a command-line option: a bad count is reported under the option's name, e.g.
     * {@code --threads must be in [1, 1024], got 0}.
     *
     * @param option the option's name with its dashes
     */
    public static void setThreadsFromOption(String option, int threads) {
        checkThreads(option, threads);
        try {
            setThreads(threads);
        } catch (IllegalStateException e) {
            throw new IllegalArgumentException(option + ": " + e.getMessage(), e);
        }
    }

    /** Refuses a count outside {@code [1, MAX_THREADS]}, naming it {@code name}. */
    private static void checkThreads(String name, int threads) {
        if (threads < 1 || threads > MAX_THREADS) {
            throw new IllegalArgumentException(name + " must be in [1, " + MAX_THREADS + "], got " + threads);
        }
    }

    private static synchronized int startedThreads() {
        started = true;
        return requestedThreads > 0 ? requestedThreads : Runtime.getRuntime().availableProcessors();
    }

    /**
     * Whether worker threads may read {@code segment}: true for global, automatic and shared arenas, false for a
     * segment confined to one thread, which a kernel must then process on that thread alone.
     */
    public static boolean isShareable(MemorySegment segment) {
        return segment.isAccessibleBy(STRANGER);
    }

    /** Threads a loop may be split across: one per core the JVM may use, unless {@link #setThreads} said so. */
    public static int threads() {
        return Pool.THREADS;
    }

    /**
     * Runs {@code task} over {@code [0, count)} split into contiguous chunks of at least {@code grain}
     * iterations, on up to {@link #threads()} threads, and returns when all of them are done. An exception thrown
     * by a chunk is rethrown here (other chunks may still have run).
     *
     * @param grain the fewest iterations worth sending to another thread; {@code count <= grain} runs inline
     */
    public static void forRange(int count, int grain, RangeTask task) {
        int chunks = chunks(count, grain);
        if (chunks <= 1 || onOwnWorker()) {
            if (count > 0) {
                task.run(0, count);
            }
            return;
        }
        AtomicInteger next = new AtomicInteger();
        Runnable drain = () -> {
            for (int k = next.getAndIncrement(); k < chunks; k = next.getAndIncrement()) {
                task.run(bound(count, chunks, k), bound(count, chunks, k + 1));
            }
        };
        ForkJoinTask<?>[] helpers = new ForkJoinTask<?>[Math.min(Pool.THREADS, chunks) - 1];
        for (int h = 0; h < helpers.length; h++) {
            helpers[h] = Pool.POOL.submit(drain);
        }
        Throwable failure = null;
        try {
            drain.run();
        } catch (RuntimeException | Error e) {
            failure = e;
        }
        for (ForkJoinTask<?> helper : helpers) {
            try {
                helper.join();
            } catch (RuntimeException | Error e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure instanceof RuntimeException e) {
            throw e;
        } else if (failure instanceof Error e) {
            throw e;
        }
    }

    /** Chunks that {@link #forRange} splits {@code count} iterations into, given {@code grain}. */
    static int chunks(int count, int grain) {
        if (count <= 0) {
            return 0;
        }
        long byGrain = Math.max(1, count / Math.max(1, (long) grain));
        return (int) Math.min((long) Pool.THREADS * CHUNKS_PER_THREAD, byGrain);
    }

    /** Start of chunk {@code k} of {@code chunks} equal chunks of {@code count}. */
    private static int bound(int count, int chunks, int k) {
        return (int) ((long) count * k / chunks);
    }

    private static boolean onOwnWorker() {
        return Thread.currentThread() instanceof ForkJoinWorkerThread w && w.getPool() == Pool.POOL;
    }
}
