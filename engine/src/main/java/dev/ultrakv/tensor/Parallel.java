package dev.ultrakv.tensor;

import java.lang.foreign.MemorySegment;
import java.util.concurrent.ForkJoinPool;
import java.util.concurrent.ForkJoinTask;
import java.util.concurrent.ForkJoinWorkerThread;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * Splits loops of independent iterations across all cores.
 *
 * <p>One fixed set of daemon helper threads, one fewer than {@link #threads()}, serves the whole process. The calling
 * thread works on the loop too, so a loop too small to be worth a hand-off runs on the caller alone.
 *
 * <h2>Notes</h2>
 * A loop is cut into equal, contiguous chunks, up to {@value #CHUNKS_PER_THREAD} per thread, which the caller
 * and the helpers claim one at a time from a shared counter: kernels split uniform work (rows of a matrix), but
 * cores are not uniform when the OS or another process takes one for a while.
 * <p><b>Helpers spin between loops.</b> A decode step is hundreds of loops of tens of microseconds each (every
 * matmul, every layer's attention), with a little serial work between them. A helper that parked after each loop
 * would be woken for the next by the OS, which takes about as long as the loop's own share; so a helper waits for
 * the next loop by spinning, and parks only when no loop came for {@value #SPIN_NANOS} ns (an idle engine costs
 * no CPU). It does not yield while it spins: a yield on a machine with other runnable threads may cost it a whole
 * time slice. The caller, waiting for chunks a helper claimed, spins {@value #SPIN_BEFORE_PARK_NANOS} ns and then
 * parks until the last chunk's thread wakes it. llama.cpp's thread pool waits by spinning for the same reason
 * (BENCHMARKS.md has the figures against a fork-join pool whose workers park).
 * <p><b>One loop at a time.</b> The helpers serve one caller's loop at a time; a loop started while another runs
 * (a second engine in the process) goes to a fork-join pool instead, and a loop started from inside a loop's chunk
 * runs inline on that thread rather than waiting for helpers it occupies.
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

    /** Helpers spin this long for the next loop before they park. */
    static final long SPIN_NANOS = 200_000;
    /** A caller waiting for its loop's last chunks spins this long before it parks. */
    static final long SPIN_BEFORE_PARK_NANOS = 20_000;

    /** The thread count, fixed by the first use of {@link Parallel} that needs it (the holder idiom). */
    private static final class Threads {
        static final int COUNT = startedThreads();
    }

    /** The helpers of {@link #forRange}, started with the thread count. */
    private static final class Helpers {
        static final SpinningHelpers POOL = new SpinningHelpers(Threads.COUNT - 1);
    }

    /** Where a loop goes while the helpers serve another caller's, started by the first such loop. */
    private static final class Fallback {
        static final ForkJoinPool POOL = new ForkJoinPool(Threads.COUNT, pool -> {
            ForkJoinWorkerThread t = ForkJoinPool.defaultForkJoinWorkerThreadFactory.newThread(pool);
            t.setName("ultrakv-kernel-fallback-" + t.getPoolIndex());
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
        if (started && Threads.COUNT != threads) {
            throw new IllegalStateException("the kernel threads already run with " + Threads.COUNT
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
        return Threads.COUNT;
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
        Loop loop = new Loop(count, chunks, task);
        if (!Helpers.POOL.run(loop)) {
            onFallbackPool(loop);
        }
        loop.rethrow();
    }

    /** {@code loop} on the caller and the fork-join pool, while the helpers serve another caller's loop. */
    private static void onFallbackPool(Loop loop) {
        ForkJoinTask<?>[] helpers = new ForkJoinTask<?>[Math.min(Threads.COUNT, loop.chunks) - 1];
        for (int h = 0; h < helpers.length; h++) {
            helpers[h] = Fallback.POOL.submit(loop::drain);
        }
        loop.drain();
        for (ForkJoinTask<?> helper : helpers) {
            helper.join(); // drain() keeps a chunk's exception in the loop: join() has none to throw
        }
    }

    /** Chunks that {@link #forRange} splits {@code count} iterations into, given {@code grain}. */
    static int chunks(int count, int grain) {
        if (count <= 0) {
            return 0;
        }
        long byGrain = Math.max(1, count / Math.max(1, (long) grain));
        return (int) Math.min((long) Threads.COUNT * CHUNKS_PER_THREAD, byGrain);
    }

    /** Start of chunk {@code k} of {@code chunks} equal chunks of {@code count}. */
    private static int bound(int count, int chunks, int k) {
        return (int) ((long) count * k / chunks);
    }

    private static boolean onOwnWorker() {
        Thread current = Thread.currentThread();
        return current instanceof SpinningHelpers.Helper
                || current instanceof ForkJoinWorkerThread w && w.getPool() == Fallback.POOL;
    }

    /** One loop: its chunks, claimed one at a time, and how many have finished. */
    private static final class Loop {
        final int count;
        final int chunks;
        final RangeTask task;
        final AtomicInteger next = new AtomicInteger();
        final AtomicInteger finished = new AtomicInteger();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        /** The caller, once it parks to wait for the last chunks; the thread finishing the last one unparks it. */
        volatile Thread waiter;

        Loop(int count, int chunks, RangeTask task) {
            this.count = count;
            this.chunks = chunks;
            this.task = task;
        }

        /** Runs chunks until none is left unclaimed; a chunk's exception is kept, and the other chunks still run. */
        void drain() {
            for (int k = next.getAndIncrement(); k < chunks; k = next.getAndIncrement()) {
                try {
                    task.run(bound(count, chunks, k), bound(count, chunks, k + 1));
                } catch (RuntimeException | Error e) {
                    if (!failure.compareAndSet(null, e)) {
                        failure.get().addSuppressed(e);
                    }
                } finally {
                    if (finished.incrementAndGet() == chunks) {
                        Thread parked = waiter;
                        if (parked != null) {
                            LockSupport.unpark(parked);
                        }
                    }
                }
            }
        }

        /**
         * Returns when every chunk has finished: spins {@link #SPIN_BEFORE_PARK_NANOS} (a decode step's loops end
         * within microseconds of each other), then parks until the thread finishing the last chunk unparks it (a
         * prefill's chunk may take milliseconds, which a spinning caller would take from the core that runs it).
         */
        void awaitDone() {
            long since = System.nanoTime();
            while (finished.get() < chunks) {
                if (System.nanoTime() - since < SPIN_BEFORE_PARK_NANOS) {
                    Thread.onSpinWait();
                    continue;
                }
                waiter = Thread.currentThread();
                if (finished.get() < chunks) {
                    LockSupport.park(this);
                }
            }
            waiter = null;
        }

        /** Throws the first chunk's exception, the others suppressed in it; nothing when every chunk ran. */
        void rethrow() {
            Throwable thrown = failure.get();
            if (thrown instanceof RuntimeException e) {
                throw e;
            } else if (thrown instanceof Error e) {
                throw e;
            }
        }
    }

    /**
     * Helper threads that take the current loop's chunks beside its caller, and wait for the next loop by spinning
     * (see the class notes). A loop is published by writing it and then advancing {@link #epoch}; a helper that sees
     * a new epoch drains whatever loop is current.
     */
    private static final class SpinningHelpers {
        private final Helper[] helpers;
        private final AtomicBoolean busy = new AtomicBoolean();
        private volatile Loop current;
        private volatile long epoch;

        SpinningHelpers(int count) {
            helpers = new Helper[count];
            for (int i = 0; i < count; i++) {
                helpers[i] = new Helper(this, i);
                helpers[i].start();
            }
        }

        /** Runs {@code loop} on the caller and the helpers; false, doing nothing, when they serve another loop. */
        boolean run(Loop loop) {
            if (helpers.length == 0 || !busy.compareAndSet(false, true)) {
                return false;
            }
            try {
                current = loop;
                epoch++; // only the caller holding busy writes it
                for (Helper helper : helpers) {
                    if (helper.parked) {
                        LockSupport.unpark(helper);
                    }
                }
                loop.drain();
                loop.awaitDone();
            } finally {
                current = null;
                busy.set(false);
            }
            return true;
        }

        /** A helper thread: drains each loop it is told of, spinning for the next before it parks. */
        static final class Helper extends Thread {
            private final SpinningHelpers pool;
            /** Set before the helper parks and re-reads the epoch; a publisher that sees it unparks the helper. */
            volatile boolean parked;

            Helper(SpinningHelpers pool, int index) {
                super("ultrakv-kernel-" + index);
                this.pool = pool;
                setDaemon(true);
            }

            @Override
            public void run() {
                long seen = 0;
                while (true) {
                    long since = System.nanoTime();
                    while (pool.epoch == seen) {
                        if (System.nanoTime() - since < SPIN_NANOS) {
                            Thread.onSpinWait();
                            continue;
                        }
                        parked = true;
                        if (pool.epoch == seen) {
                            LockSupport.park(this);
                        }
                        parked = false;
                    }
                    seen = pool.epoch;
                    Loop loop = pool.current;
                    if (loop != null) {
                        loop.drain();
                    }
                }
            }
        }
    }
}
