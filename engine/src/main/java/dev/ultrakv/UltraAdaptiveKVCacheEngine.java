package dev.ultrakv;

import dev.ultrakv.kvcache.KvCacheManager;
import dev.ultrakv.kvcache.KvCacheSpec;
import dev.ultrakv.kvcache.codec.KvCodecKind;
import dev.ultrakv.kvcache.compress.KvCompression;
import dev.ultrakv.kvcache.index.PrefixIndexStats;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.sampling.Sampler;

import org.HdrHistogram.Histogram;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.PriorityBlockingQueue;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * An LLM inference engine with an adaptive prefix cache: requests whose prompts share a beginning with earlier
 * requests (a system prompt, the previous turns of a chat, a repeated question) reuse the keys and values
 * computed for it instead of computing them again.
 *
 * <pre>{@code
 * try (var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().build())) {
 *     RequestResult r = engine.processRequest(Request.of("Once upon a time", 1)).join();
 *     System.out.println(r.text() + " (cached " + r.cachedPromptTokens() + " tokens)");
 * }
 * }</pre>
 *
 * <p><b>Threads.</b> Every method may be called from any thread. Requests go into a queue ordered by priority
 * (lower value first, submission order within a priority); one step-loop thread takes them and alone owns the
 * model's buffers, the KV block pool and the prefix index, so the cache needs no locks. Futures complete on
 * that thread: dependent actions attached without an executor run there and delay the next request.
 *
 * <p><b>Errors.</b> A request with bad values fails its future with an {@link IllegalArgumentException} that
 * names the value, and the engine goes on serving others. After {@link #close()} waiting requests fail with
 * an {@link IllegalStateException}, and so do new ones.
 *
 * <h2>Notes</h2>
 * <b>One request at a time.</b> The loop serves each request from prompt to stop before the next; continuous
 * batching (a step over many running sequences) will change {@code SequenceRunner} and the loop, not this API.
 * <b>Latency percentiles</b> come from an HdrHistogram of every served request's latency: three significant
 * digits (within 0.1%) in a few tens of kilobytes however long the engine runs, where keeping every latency
 * would grow without bound.
 */
public final class UltraAdaptiveKVCacheEngine implements AutoCloseable {
    /** The step-loop thread's name, to find it in thread dumps. */
    private static final String LOOP_THREAD_NAME = "ultrakv-step-loop";
    /** Queue position of the close marker: ahead of every request, so waiting requests are failed, not run. */
    private static final int CLOSE_PRIORITY = Integer.MIN_VALUE;
    /** Significant decimal digits of the latency histogram: 0.1% resolution. */
    private static final int LATENCY_SIGNIFICANT_DIGITS = 3;

    private final KVCacheConfig config;
    private final LlamaModel model;
    private final KvCacheManager cache;
    private final SequenceRunner runner;
    private final int contextLength;
    private final long cachePositions;
    private final long kvBytesCapacity;
    private final Thread loop;
    private final PriorityBlockingQueue<Job> queue = new PriorityBlockingQueue<>(16,
            Comparator.comparingInt(Job::priority).thenComparingLong(Job::order));
    private final AtomicLong submissions = new AtomicLong();
    private final AtomicLong unnamedRequests = new AtomicLong();
    /** Guards {@link #closed} against submissions racing with {@link #close()}. */
    private final Object lifecycle = new Object();
    private boolean closed;
    /** Set by {@link #close()}: the loop fails the rest of a group instead of serving it. */
    private volatile boolean stopping;

    /** Guards the counters below, written by the loop and read by {@link #getStats()}. */
    private final Object statsLock = new Object();
    private long served;
    private long hits;
    private long failed;
    private long promptTokens;
    private long cachedPromptTokens;
    private long evictions;
    private int blocksUsed;
    private int blocksFree;
    private long kvBytesInUse;
    /** Latencies of served requests in nanoseconds; guarded by statsLock. */
    private final Histogram latencies = new Histogram(LATENCY_SIGNIFICANT_DIGITS);

    /**
     * Loads the model, allocates the KV cache and starts the step loop.
     *
     * @throws IllegalArgumentException if the byte budget holds no block, or the quantization cannot store the
     *                                  model's heads
     * @throws RuntimeException         from loading the model (e.g. a missing or malformed file)
     */
    public UltraAdaptiveKVCacheEngine(KVCacheConfig config) {
        this.config = Objects.requireNonNull(config, "config");
        this.model = config.model().load();
        KvCacheManager manager = null;
        try {
            manager = new KvCacheManager(config.model().description(), model.config().kvLayout(),
                    cacheSpec(config));
            this.runner = new SequenceRunner(model, manager);
        } catch (RuntimeException | Error e) {
            if (manager != null) {
                manager.close();
            }
            model.close();
            throw e;
        }
        this.cache = manager;
        this.contextLength = model.config().contextLength();
        this.cachePositions = (long) cache.totalBlocks() * cache.blockSize();
        this.kvBytesCapacity = cache.capacityBytes();
        publishCacheState();
        this.loop = Thread.ofPlatform().name(LOOP_THREAD_NAME).daemon(true).unstarted(this::runLoop);
        loop.start();
    }

    /** The cache the configuration asks for, in the KV cache's own terms. */
    static KvCacheSpec cacheSpec(KVCacheConfig config) {
        KvCodecKind codec = config.useQuantization() ? KvCodecKind.forQuantizationBits(config.quantizationBits())
                : KvCodecKind.F32;
        KvCompression compression = config.useCompression()
                ? new KvCompression(config.compressionMethod(), config.compressionRatio()) : KvCompression.NONE;
        return new KvCacheSpec(config.blockSize(), config.maxTokens(), config.maxMemoryBytes(),
                config.cacheStrategy().policy(), codec, compression);
    }

    /** The configuration the engine runs. */
    public KVCacheConfig config() {
        return config;
    }

    /**
     * Queues {@code request}; its future completes with the result when the step loop has served it.
     *
     * @return a future that fails with an {@link IllegalArgumentException} naming the value for a bad request
     *         (empty text, unknown priority, {@code maxNewTokens < 1}, a bad temperature, a prompt longer than
     *         the model's context or the whole cache), or with an {@link IllegalStateException} once the engine
     *         is closed
     */
    public CompletableFuture<RequestResult> processRequest(Request request) {
        Objects.requireNonNull(request, "request");
        if (stopping) {
            return CompletableFuture.failedFuture(closedException());
        }
        Work work;
        try {
            work = prepare(request);
        } catch (IllegalArgumentException e) {
            countFailure();
            return CompletableFuture.failedFuture(e);
        }
        submit(new Job(work.priority, submissions.getAndIncrement(), List.of(work)));
        return work.future;
    }

    /**
     * Queues {@code requests} in groups of {@code batchSize}, each group served back to back with the prompts
     * sorted by their tokens so that requests sharing a prefix run one after another and find it cached. A group
     * waits in the queue at the most urgent priority among its requests.
     *
     * @return a future of the results in the order of {@code requests}; it fails, with the first failure in that
     *         order, if any request fails (the others are still served)
     * @throws IllegalArgumentException if {@code batchSize < 1}
     */
    public CompletableFuture<List<RequestResult>> processBatchOptimized(List<Request> requests, int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be at least 1: " + batchSize);
        }
        if (stopping) {
            return CompletableFuture.failedFuture(closedException());
        }
        List<CompletableFuture<RequestResult>> futures = new ArrayList<>(requests.size());
        List<Work> valid = new ArrayList<>(requests.size());
        for (Request request : requests) {
            Objects.requireNonNull(request, "request");
            try {
                Work work = prepare(request);
                valid.add(work);
                futures.add(work.future);
            } catch (IllegalArgumentException e) {
                countFailure();
                futures.add(CompletableFuture.failedFuture(e));
            }
        }
        valid.sort((a, b) -> Arrays.compare(a.prompt, b.prompt));
        for (int start = 0; start < valid.size(); start += batchSize) {
            List<Work> group = List.copyOf(valid.subList(start, Math.min(valid.size(), start + batchSize)));
            int priority = group.stream().mapToInt(Work::priority).min().orElseThrow();
            submit(new Job(priority, submissions.getAndIncrement(), group));
        }
        return CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new))
                .thenApply(ignored -> futures.stream().map(CompletableFuture::join).toList());
    }

    /** A consistent snapshot of the counters; safe from any thread, before and after {@link #close()}. */
    public EngineStats getStats() {
        synchronized (statsLock) {
            return new EngineStats(served, hits, served - hits, failed, promptTokens, cachedPromptTokens,
                    evictions, blocksUsed, blocksFree, kvBytesInUse, kvBytesCapacity,
                    percentile(latencies, 50), percentile(latencies, 95), percentile(latencies, 99));
        }
    }

    /** Percentile {@code p} of the recorded nanoseconds (zero when none are recorded). */
    static Duration percentile(Histogram histogram, double p) {
        return Duration.ofNanos(histogram.getTotalCount() == 0 ? 0 : histogram.getValueAtPercentile(p));
    }

    /**
     * Stops the step loop after the request it is serving, fails every waiting request with an
     * {@link IllegalStateException}, frees the KV cache's memory and closes the model. Later submissions fail.
     * Idempotent; when called from the step loop itself (a future's dependent action) it does not wait.
     */
    @Override
    public void close() {
        synchronized (lifecycle) {
            if (!closed) {
                closed = true;
                stopping = true;
                queue.add(new Job(CLOSE_PRIORITY, -1, List.of()));
            }
        }
        if (Thread.currentThread() != loop) {
            boolean interrupted = false;
            while (loop.isAlive()) {
                try {
                    loop.join();
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Runs {@code check} on the step loop with the cache manager (tests: invariants between requests). */
    CompletableFuture<Void> onLoop(Consumer<KvCacheManager> check) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        Work work = new Work(null, null, Priority.CRITICAL.value(), System.nanoTime(), null, cache -> {
            check.accept(cache);
            done.complete(null);
        });
        work.future.whenComplete((r, e) -> {
            if (e != null) {
                done.completeExceptionally(e);
            }
        });
        submit(new Job(work.priority, submissions.getAndIncrement(), List.of(work)));
        return done;
    }

    private void submit(Job job) {
        synchronized (lifecycle) {
            if (!closed) {
                queue.add(job);
                return;
            }
        }
        for (Work work : job.works) {
            work.future.completeExceptionally(closedException());
        }
    }

    private static IllegalStateException closedException() {
        return new IllegalStateException("engine closed");
    }

    /** Checks {@code request} and tokenizes it on the caller's thread (the tokenizer is thread-safe). */
    private Work prepare(Request request) {
        Priority priority = Priority.of(request.priority());
        if (request.text().isEmpty()) {
            throw new IllegalArgumentException("request text is empty");
        }
        if (request.maxNewTokens() < 1) {
            throw new IllegalArgumentException("maxNewTokens must be at least 1: " + request.maxNewTokens());
        }
        Sampler.validate(request.temperature(), 0f, 0);
        int[] prompt = model.tokenizer().encode(request.text(), true);
        if (prompt.length > contextLength) {
            throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens, more than the model's"
                    + " context length " + contextLength);
        }
        long positions = prompt.length
                + SequenceRunner.cappedNewTokens(contextLength, prompt.length, request.maxNewTokens()) - 1L;
        if (positions > cachePositions) {
            throw new IllegalArgumentException("the prompt of " + prompt.length + " tokens and up to "
                    + request.maxNewTokens() + " new tokens need " + positions + " KV positions, more than the"
                    + " whole cache holds (" + cachePositions + " = " + cache.totalBlocks() + " blocks of "
                    + cache.blockSize() + "; maxTokens " + config.maxTokens() + ")");
        }
        String id = request.id() != null ? request.id() : "request-" + unnamedRequests.incrementAndGet();
        return new Work(request, id, priority.value(), System.nanoTime(), prompt, null);
    }

    private void runLoop() {
        try {
            while (true) {
                Job job = queue.take();
                if (job.priority == CLOSE_PRIORITY) {
                    break;
                }
                for (Work work : job.works) {
                    if (stopping) {
                        work.future.completeExceptionally(closedException());
                    } else {
                        serve(work);
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            synchronized (lifecycle) {
                closed = true;
            }
            for (Job job; (job = queue.poll()) != null; ) {
                for (Work work : job.works) {
                    work.future.completeExceptionally(closedException());
                }
            }
            try {
                cache.close();
            } finally {
                model.close();
            }
        }
    }

    private void serve(Work work) {
        if (work.future.isDone()) {
            return;
        }
        if (work.task != null) {
            try {
                work.task.accept(cache);
                work.future.complete(null);
            } catch (RuntimeException e) {
                work.future.completeExceptionally(e);
            }
            return;
        }
        Request request = work.request;
        try {
            Sampler sampler = new Sampler(model.config().vocabularySize(), request.temperature(), 0f, 0,
                    request.seed());
            SequenceRunner.Outcome outcome = runner.run(work.prompt, request.maxNewTokens(), sampler, null);
            String text = SequenceRunner.decode(model.tokenizer(), work.prompt[work.prompt.length - 1],
                    outcome.generated());
            long now = System.nanoTime();
            RequestResult result = new RequestResult(work.id, text, work.prompt.length, outcome.cachedTokens(),
                    outcome.generated(), outcome.stopReason(), outcome.firstTokenNanoTime() - work.submitted,
                    now - work.submitted);
            record(result);
            work.future.complete(result);
        } catch (RuntimeException | Error e) {
            countFailure();
            publishCacheState();
            work.future.completeExceptionally(e);
            if (e instanceof Error) {
                throw e;
            }
        }
    }

    private void record(RequestResult result) {
        PrefixIndexStats index = cache.indexStats();
        synchronized (statsLock) {
            latencies.recordValue(Math.max(0, result.latency().toNanos()));
            served++;
            if (result.cacheHit()) {
                hits++;
            }
            promptTokens += result.promptTokens();
            cachedPromptTokens += result.cachedPromptTokens();
            evictions = index.evictedBlocks();
            blocksUsed = cache.usedBlocks();
            blocksFree = cache.freeBlocks();
            kvBytesInUse = cache.usedBytes();
        }
    }

    private void publishCacheState() {
        synchronized (statsLock) {
            evictions = cache.indexStats().evictedBlocks();
            blocksUsed = cache.usedBlocks();
            blocksFree = cache.freeBlocks();
            kvBytesInUse = cache.usedBytes();
        }
    }

    private void countFailure() {
        synchronized (statsLock) {
            failed++;
        }
    }

    /** Requests queued together: served back to back in list order. */
    private record Job(int priority, long order, List<Work> works) {
    }

    /** One request, checked and tokenized, with its future; or (tests) a task to run on the loop instead. */
    private static final class Work {
        private final Request request;
        private final String id;
        private final int priority;
        /** {@link System#nanoTime()} at submission: latencies count the time spent waiting. */
        private final long submitted;
        /** The prompt's tokens, BOS first. */
        private final int[] prompt;
        private final CompletableFuture<RequestResult> future = new CompletableFuture<>();
        private final Consumer<KvCacheManager> task;

        private Work(Request request, String id, int priority, long submitted, int[] prompt,
                     Consumer<KvCacheManager> task) {
            this.request = request;
            this.id = id;
            this.priority = priority;
            this.submitted = submitted;
            this.prompt = prompt;
            this.task = task;
        }

        int priority() {
            return priority;
        }
    }
}
