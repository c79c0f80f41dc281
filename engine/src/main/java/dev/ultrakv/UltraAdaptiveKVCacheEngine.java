package dev.ultrakv;

import dev.ultrakv.kvcache.KvCacheManager;
import dev.ultrakv.kvcache.KvCacheSpec;
import dev.ultrakv.kvcache.index.PrefixIndexStats;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.sampling.NonFiniteLogitsException;
import dev.ultrakv.sampling.Sampler;
import dev.ultrakv.scheduler.Scheduler;
import dev.ultrakv.scheduler.SchedulerConfig;
import dev.ultrakv.scheduler.SequenceState;
import dev.ultrakv.scheduler.StepExecutor;
import dev.ultrakv.scheduler.StepPlan;
import dev.ultrakv.scheduler.Ticker;

import org.HdrHistogram.Histogram;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * An LLM inference engine with an adaptive prefix cache: requests whose prompts share a beginning with earlier
 * requests (a system prompt, the previous turns of a chat, a repeated question) reuse the keys and values
 * computed for it instead of computing them again; requests running at the same time are served together, one
 * token each per step (continuous batching).
 *
 * <pre>{@code
 * try (var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().build())) {
 *     RequestResult r = engine.processRequest(Request.of("Once upon a time", 1)).join();
 *     System.out.println(r.text() + " (cached " + r.cachedPromptTokens() + " tokens)");
 *     engine.processRequest(Request.of("The sun", 2), token -> System.out.print(token.text()));  // streaming
 * }
 * }</pre>
 *
 * <p><b>Threads.</b> Every method may be called from any thread. Requests go into a bounded queue; one
 * step-loop thread alone owns the model's buffers, the KV block pool, the prefix index and the scheduler, so the
 * cache needs no locks. Futures complete, and listeners are called, on a separate delivery thread, in the order
 * the loop produced the events: a dependent action or a listener that blocks delays other deliveries, never
 * generation.
 *
 * <p><b>Control.</b> Cancelling a request's future ({@code future.cancel(true)}) stops it and frees its KV blocks
 * before the next step; so does its {@link Request#timeout() deadline}, failing the future with a
 * {@link TimeoutException}. A request submitted while {@link SchedulerConfig#maxQueuedRequests()} requests wait
 * fails at once with a {@link RejectedExecutionException}.
 *
 * <p><b>Errors.</b> A request with bad values fails its future with an {@link IllegalArgumentException} that
 * names the value, and the engine goes on serving others. After {@link #close()} waiting and running requests
 * fail with an {@link IllegalStateException}, and so do new ones.
 *
 * <p><b>Faults.</b> The step loop is supervised: a fault while serving fails only the requests it must and the
 * engine serves on. A fault tied to one request (its admission, its blocks, its compaction, its sampling, or a
 * forward pass that fails again when its rows run alone) fails that request; a forward pass that fails with no
 * such culprit fails that step's batch; any other fault of the loop fails the running requests, and a second one
 * in a row the waiting ones too. The failed requests' blocks are freed and the cache's invariants checked before
 * the next step. A fault that leaves the engine unusable (a virtual machine error other than running out of heap
 * or stack, e.g. the model file's mapping failing; broken cache invariants; a third loop fault in a row) moves it
 * to {@link EngineState#FAILED}: every held and later request fails with an {@link IllegalStateException} naming
 * the cause, which {@link #getStats()} reports too (docs/faults.md).
 *
 * <h2>Notes</h2>
 * <b>The step loop.</b> Each iteration takes the submissions, cancellations and tasks that arrived, stops the
 * requests past their deadline, asks the {@link Scheduler} for a step (decode tokens of the running sequences,
 * prompt chunks, new admissions, preemptions when the cache is short), runs it as one forward pass
 * ({@link StepExecutor}: every weight read once for all the rows), samples the sequences whose rows reached their
 * last token, and retires those that stop, caching their tokens. The scheduler's notes say how it orders,
 * admits and preempts.
 * <b>Off-loop delivery</b> costs a hand-over per event, small beside a step of tens of milliseconds, and keeps
 * user code (a {@code thenApply} on a future, a listener writing to a slow socket) from stalling every request;
 * one delivery thread keeps each request's tokens in order and before its result. Its queue is not bounded:
 * a listener slower than generation makes it grow.
 * <b>Batches</b> ({@link #processBatchOptimized}) enter the scheduler group by group, each group once the one
 * before it has been admitted, so that a group's shared prefix is computed by its first request and found cached
 * by the rest, and a large batch never overflows the queue.
 * <b>Latency percentiles</b> come from an HdrHistogram of every served request's latency: three significant
 * digits (within 0.1%) in a few tens of kilobytes however long the engine runs.
 */
public final class UltraAdaptiveKVCacheEngine implements AutoCloseable {
    /** The step-loop thread's name, to find it in thread dumps. */
    private static final String LOOP_THREAD_NAME = "ultrakv-step-loop";
    /** The thread that completes futures and calls listeners. */
    private static final String DELIVERY_THREAD_NAME = "ultrakv-delivery";
    /** Significant decimal digits of the latency histogram: 0.1% resolution. */
    private static final int LATENCY_SIGNIFICANT_DIGITS = 3;
    /**
     * Longest an idle loop sleeps while requests wait or deadlines are pending: deadlines are met within it, and
     * an injected ticker that jumps is noticed.
     */
    private static final long IDLE_RECHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    /**
     * How long {@link #close()} waits for listeners and dependent actions to return before it abandons them: long
     * enough for any listener that does its job, short enough that a stuck one cannot hang a shutdown.
     */
    static final Duration DEFAULT_CLOSE_GRACE = Duration.ofSeconds(10);
    /**
     * Loop faults in a row, with no request to blame, that the engine survives: the first fails the running
     * requests, the second the waiting ones too; one more means the fault does not depend on the requests.
     */
    private static final int SURVIVABLE_LOOP_FAULTS = 2;
    /** Where faults are reported (the JDK's platform logging: no dependency, routed to any backend). */
    private static final System.Logger LOG = System.getLogger(UltraAdaptiveKVCacheEngine.class.getName());

    private final KVCacheConfig config;
    private final SchedulerConfig scheduling;
    private final Ticker ticker;
    private final LlamaModel model;
    private final KvCacheManager cache;
    private final Scheduler scheduler;
    private final StepExecutor executor;
    private final int contextLength;
    /** KV positions one request may use: the cache less one block, which a cached prefix may need to copy. */
    private final long requestPositions;
    private final long kvBytesCapacity;
    private final Thread loop;
    private final ExecutorService delivery;
    private volatile Thread deliveryThread;
    private final LinkedBlockingQueue<Command> inbox = new LinkedBlockingQueue<>();
    /** Requests of {@link #processRequest} submitted and not yet admitted (nor ended). */
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicLong submissions = new AtomicLong();
    private final AtomicLong unnamedRequests = new AtomicLong();
    /** Guards {@link #closed} against submissions racing with {@link #close()}. */
    private final Object lifecycle = new Object();
    private boolean closed;
    /** Set by {@link #close()}: refuse work before tokenizing (the model behind the tokenizer may be closed). */
    private volatile boolean stopping;
    /** Why the engine failed; null while it has not. Set once, by the loop. */
    private volatile Throwable failure;
    /** Requests whose futures are not complete yet: {@link #close()} fails them if it abandons delivery. */
    private final Set<Work> outstanding = ConcurrentHashMap.newKeySet();
    /** Test hook called with the request ids of each forward pass, inside the supervised step. */
    private final StepProbe stepProbe;
    private volatile Duration closeGrace = DEFAULT_CLOSE_GRACE;

    /** Requests with a deadline, soonest first; the loop's. */
    private final PriorityQueue<Work> deadlines = new PriorityQueue<>(Comparator.comparingLong(w -> w.deadline));
    /** Batches still entering the scheduler; the loop's. */
    private final List<BatchFeed> feeds = new ArrayList<>();

    /** Guards the counters below, written by the loop and read by {@link #getStats()}. */
    private final Object statsLock = new Object();
    private long submitted;
    private long served;
    private long hits;
    private long failed;
    private long cancelled;
    private long expired;
    private long rejected;
    private long promptTokens;
    private long cachedPromptTokens;
    private long evictions;
    private long preemptions;
    private int blocksUsed;
    private int blocksFree;
    private long kvBytesInUse;
    private int runningSequences;
    private int waitingRequests;
    private int pinnedBlocks;
    /** Latencies of served requests in nanoseconds; guarded by statsLock. */
    private final Histogram latencies = new Histogram(LATENCY_SIGNIFICANT_DIGITS);

    /**
     * Loads the model, allocates the KV cache and starts the step loop, with the default scheduling.
     *
     * @throws IllegalArgumentException if the byte budget holds no block, or the quantization cannot store the
     *                                  model's heads
     * @throws RuntimeException         from loading the model (e.g. a missing or malformed file)
     */
    public UltraAdaptiveKVCacheEngine(KVCacheConfig config) {
        this(config, SchedulerConfig.defaults());
    }

    /**
     * Loads the model, allocates the KV cache and starts the step loop, scheduling as {@code scheduling} says.
     *
     * @throws IllegalArgumentException      if the byte budget holds no block or the codec cannot store the heads
     * @throws RuntimeException              from loading the model (e.g. a missing or malformed file)
     */
    public UltraAdaptiveKVCacheEngine(KVCacheConfig config, SchedulerConfig scheduling) {
        this(config, scheduling, Ticker.system());
    }

    /** An engine whose ages, deadlines and latencies follow {@code ticker} (tests). */
    UltraAdaptiveKVCacheEngine(KVCacheConfig config, SchedulerConfig scheduling, Ticker ticker) {
        this(config, scheduling, ticker, (step, requestIds) -> {
        });
    }

    /** An engine that calls {@code stepProbe} before each forward pass (tests: injected faults). */
    UltraAdaptiveKVCacheEngine(KVCacheConfig config, SchedulerConfig scheduling, Ticker ticker, StepProbe stepProbe) {
        this.stepProbe = Objects.requireNonNull(stepProbe, "stepProbe");
        this.config = Objects.requireNonNull(config, "config");
        this.scheduling = Objects.requireNonNull(scheduling, "scheduling");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.model = config.model().load();
        KvCacheManager manager = null;
        try {
            manager = new KvCacheManager(config.model().description(), model.config().kvLayout(),
                    cacheSpec(config));
            this.executor = new StepExecutor(model, scheduling.stepTokens());
        } catch (RuntimeException | Error e) {
            if (manager != null) {
                manager.close();
            }
            model.close();
            throw e;
        }
        this.cache = manager;
        this.scheduler = new Scheduler(cache, scheduling, ticker);
        this.contextLength = model.config().contextLength();
        this.requestPositions = (long) (cache.totalBlocks() - 1) * cache.blockSize();
        this.kvBytesCapacity = cache.capacityBytes();
        publishCacheState();
        this.delivery = Executors.newSingleThreadExecutor(task -> {
            Thread thread = Thread.ofPlatform().name(DELIVERY_THREAD_NAME).daemon(true).unstarted(task);
            deliveryThread = thread;
            return thread;
        });
        this.loop = Thread.ofPlatform().name(LOOP_THREAD_NAME).daemon(true).unstarted(this::runLoop);
        loop.start();
    }

    /** The cache the configuration asks for, in the KV cache's own terms. */
    static KvCacheSpec cacheSpec(KVCacheConfig config) {
        return new KvCacheSpec(config.blockSize(), config.maxTokens(), config.maxMemoryBytes(),
                config.cacheStrategy().policy(), config.codec(), config.compression());
    }

    /** The configuration of the cache and model the engine runs. */
    public KVCacheConfig config() {
        return config;
    }

    /** How the engine schedules. */
    public SchedulerConfig schedulerConfig() {
        return scheduling;
    }

    /** The model this engine serves. */
    public ModelInfo modelInfo() {
        return new ModelInfo(config.model().description(), model.name(), contextLength,
                model.config().vocabularySize(), model.chatTemplate().orElse(null));
    }

    /**
     * The model's tokens for {@code text}, as a request's prompt is tokenized ({@code addBos}: with the
     * beginning-of-sequence token first, as prompts are). Safe from any thread; needs no step.
     *
     * @throws IllegalStateException once the engine is closed or failed (the model is released)
     */
    public int[] tokenize(String text, boolean addBos) {
        Objects.requireNonNull(text, "text");
        if (stopping) {
            throw haltedException();
        }
        return model.tokenizer().encode(text, addBos);
    }

    /**
     * The text of {@code tokens}: their raw bytes joined, then decoded as UTF-8 (a character split over byte
     * tokens comes out whole; malformed bytes become U+FFFD); special tokens give nothing. Gives back the text
     * of {@code tokenize(text, true)}.
     *
     * @throws IllegalArgumentException naming the first token id outside the vocabulary
     * @throws IllegalStateException    once the engine is closed or failed
     */
    public String detokenize(int[] tokens) {
        int vocabulary = model.config().vocabularySize();
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0 || tokens[i] >= vocabulary) {
                throw new IllegalArgumentException("token " + i + " is " + tokens[i] + ", outside the vocabulary of "
                        + vocabulary + " tokens");
            }
        }
        if (stopping) {
            throw haltedException();
        }
        return SequenceRunner.decode(model.tokenizer(), -1, tokens);
    }

    /**
     * Queues {@code request}; its future completes with the result when it is done. Cancel the future to stop
     * the request.
     *
     * @return a future that fails with an {@link IllegalArgumentException} naming the value for a bad request
     *         (empty text, unknown priority, {@code maxNewTokens < 1}, a bad temperature or timeout, a prompt
     *         longer than the model's context or than the cache can give one request), a
     *         {@link RejectedExecutionException} when the queue is full, a {@link TimeoutException} past the
     *         request's deadline, or an {@link IllegalStateException} once the engine is closed or failed, or when
     *         a fault while serving it failed it (its cause is the fault)
     */
    public CompletableFuture<RequestResult> processRequest(Request request) {
        return processRequest(request, null);
    }

    /**
     * Queues {@code request} as {@link #processRequest(Request)} does, telling {@code listener} each generated
     * token as it comes (see {@link TokenListener} for the thread and order), before the future completes.
     *
     * @param listener told each token; may be null
     */
    public CompletableFuture<RequestResult> processRequest(Request request, TokenListener listener) {
        Objects.requireNonNull(request, "request");
        countSubmitted(1);
        if (stopping) {
            countFailure();
            return CompletableFuture.failedFuture(haltedException());
        }
        Prepared prepared;
        try {
            prepared = prepare(request, listener);
        } catch (IllegalArgumentException e) {
            countFailure();
            return CompletableFuture.failedFuture(e);
        }
        if (queued.incrementAndGet() > scheduling.maxQueuedRequests()) {
            queued.decrementAndGet();
            synchronized (statsLock) {
                rejected++;
            }
            return CompletableFuture.failedFuture(new RejectedExecutionException("the queue is full: "
                    + scheduling.maxQueuedRequests() + " requests wait for admission (SchedulerConfig"
                    + ".maxQueuedRequests); request " + prepared.id + " is rejected, retry later"));
        }
        Work work = new Work(prepared, submissions.getAndIncrement(), null);
        work.counted = true;
        submit(new Submit(work));
        return work.future;
    }

    /**
     * Serves {@code requests} together, in groups of {@code batchSize} sorted by their prompts' tokens so that
     * requests sharing a prefix are admitted together and compute it once; a group enters the scheduler when the
     * group before it has been admitted. Each request keeps its own priority. Cancelling the returned future
     * cancels every request of the batch.
     *
     * @return a future of the results in the order of {@code requests}; it fails, with the first failure in that
     *         order, if any request fails (the others are still served)
     * @throws IllegalArgumentException if {@code batchSize < 1}
     */
    public CompletableFuture<List<RequestResult>> processBatchOptimized(List<Request> requests, int batchSize) {
        if (batchSize < 1) {
            throw new IllegalArgumentException("batchSize must be at least 1: " + batchSize);
        }
        requests.forEach(request -> Objects.requireNonNull(request, "request"));
        countSubmitted(requests.size());
        if (stopping) {
            synchronized (statsLock) {
                failed += requests.size();
            }
            return CompletableFuture.failedFuture(haltedException());
        }
        List<CompletableFuture<RequestResult>> futures = new ArrayList<>(requests.size());
        List<Prepared> valid = new ArrayList<>(requests.size());
        for (Request request : requests) {
            try {
                Prepared prepared = prepare(request, null);
                valid.add(prepared);
                futures.add(prepared.future);
            } catch (IllegalArgumentException e) {
                countFailure();
                futures.add(CompletableFuture.failedFuture(e));
            }
        }
        valid.sort((a, b) -> Arrays.compare(a.prompt, b.prompt));
        BatchFeed feed = new BatchFeed();
        for (int start = 0; start < valid.size(); start += batchSize) {
            List<Work> group = new ArrayList<>(Math.min(batchSize, valid.size() - start));
            for (Prepared prepared : valid.subList(start, Math.min(valid.size(), start + batchSize))) {
                group.add(new Work(prepared, submissions.getAndIncrement(), feed));
            }
            feed.groups.add(group);
        }
        if (!feed.groups.isEmpty()) {
            submit(new Feed(feed));
        }
        CompletableFuture<List<RequestResult>> all = CompletableFuture.allOf(futures.toArray(CompletableFuture[]::new))
                .thenApply(ignored -> futures.stream().map(CompletableFuture::join).toList());
        all.whenComplete((results, e) -> {
            if (all.isCancelled()) {
                futures.forEach(f -> f.cancel(false));
            }
        });
        return all;
    }

    /**
     * A consistent snapshot of the counters and of the engine's state (with the cause once it failed); safe from
     * any thread, before and after {@link #close()}.
     */
    public EngineStats getStats() {
        Throwable cause = failure;
        EngineState state = cause != null ? EngineState.FAILED : stopping ? EngineState.CLOSED : EngineState.RUNNING;
        synchronized (statsLock) {
            return new EngineStats(served, hits, served - hits, failed, promptTokens, cachedPromptTokens,
                    evictions, blocksUsed, blocksFree, kvBytesInUse, kvBytesCapacity,
                    percentile(latencies, 50), percentile(latencies, 95), percentile(latencies, 99),
                    preemptions, cancelled, expired, rejected, submitted, state,
                    cause == null ? null : describe(cause), runningSequences, waitingRequests, pinnedBlocks);
        }
    }

    /** Percentile {@code p} of the recorded nanoseconds (zero when none are recorded). */
    static Duration percentile(Histogram histogram, double p) {
        return Duration.ofNanos(histogram.getTotalCount() == 0 ? 0 : histogram.getValueAtPercentile(p));
    }

    /**
     * Stops the step loop after its current step, fails every waiting and running request with an
     * {@link IllegalStateException}, frees the KV cache's memory and closes the model, then waits for the
     * delivery of what is left: at most ten seconds, after which listeners and
     * dependent actions that have not returned are abandoned (interrupted) and every request whose future is
     * still pending fails. Later submissions fail. Idempotent; called from a future's dependent action or a
     * listener (the delivery thread) it does not wait for the deliveries.
     */
    @Override
    public void close() {
        synchronized (lifecycle) {
            if (!closed) {
                closed = true;
                stopping = true;
                inbox.add(new Close());
            }
        }
        Thread current = Thread.currentThread();
        boolean interrupted = false;
        while (current != loop && loop.isAlive()) {
            try {
                loop.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        long graceEnd = System.nanoTime() + closeGrace.toNanos();
        while (current != loop && current != deliveryThread && !delivery.isTerminated()) {
            long left = graceEnd - System.nanoTime();
            if (left <= 0) {
                abandonDelivery();
                break;
            }
            try {
                delivery.awaitTermination(left, TimeUnit.NANOSECONDS);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * A listener or dependent action has not returned within the grace period: interrupt it, drop the events
     * behind it and fail every future still pending, so that no caller waits forever.
     */
    private void abandonDelivery() {
        delivery.shutdownNow();
        IllegalStateException abandoned = new IllegalStateException("engine closed: a token listener or a"
                + " future's dependent action did not return within " + closeGrace.toSeconds() + " s, so the"
                + " deliveries behind it were abandoned");
        for (Work work : List.copyOf(outstanding)) {
            end(work, null, abandoned);
        }
        LOG.log(System.Logger.Level.WARNING, abandoned.getMessage());
    }

    /** How long {@link #close()} waits for deliveries before abandoning them (tests). */
    void closeGrace(Duration grace) {
        this.closeGrace = Objects.requireNonNull(grace, "grace");
    }

    /** Runs {@code check} on the step loop, between steps, with the cache manager (tests: invariants). */
    CompletableFuture<Void> onLoop(Consumer<KvCacheManager> check) {
        return runOnLoop(() -> check.accept(cache));
    }

    /** Runs {@code check} on the step loop, between steps, with the scheduler (tests: who runs). */
    CompletableFuture<Void> onScheduler(Consumer<Scheduler> check) {
        return runOnLoop(() -> check.accept(scheduler));
    }

    private CompletableFuture<Void> runOnLoop(Runnable task) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        submit(new Task(() -> {
            try {
                task.run();
                done.complete(null);
            } catch (RuntimeException | Error e) {
                done.completeExceptionally(e);
            }
        }, done));
        return done;
    }

    private void submit(Command command) {
        synchronized (lifecycle) {
            if (!closed) {
                inbox.add(command);
                return;
            }
        }
        failClosed(command);
    }

    private static IllegalStateException closedException() {
        return new IllegalStateException("engine closed");
    }

    /** What a request gets when the engine no longer serves: closed, or failed with its cause. */
    private IllegalStateException haltedException() {
        Throwable cause = failure;
        return cause == null ? closedException()
                : new IllegalStateException("engine failed: " + describe(cause), cause);
    }

    /** A fault in one line: its type and message. */
    private static String describe(Throwable t) {
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }

    /** Checks {@code request} and tokenizes it on the caller's thread (the tokenizer is thread-safe). */
    private Prepared prepare(Request request, TokenListener listener) {
        Priority priority = Priority.of(request.priority());
        if (request.text().isEmpty()) {
            throw new IllegalArgumentException("request text is empty");
        }
        if (request.maxNewTokens() < 1) {
            throw new IllegalArgumentException("maxNewTokens must be at least 1: " + request.maxNewTokens());
        }
        Sampler.validate(request.temperature(), 0f, 0);
        if (request.timeout() != null && (request.timeout().isNegative() || request.timeout().isZero())) {
            throw new IllegalArgumentException("timeout must be positive: " + request.timeout());
        }
        int[] prompt = model.tokenizer().encode(request.text(), true);
        if (prompt.length > contextLength) {
            throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens, more than the model's"
                    + " context length " + contextLength);
        }
        int newTokens = SequenceRunner.cappedNewTokens(contextLength, prompt.length, request.maxNewTokens());
        long positions = prompt.length + newTokens - 1L;
        if (positions > requestPositions) {
            long cachePositions = (long) cache.totalBlocks() * cache.blockSize();
            throw new IllegalArgumentException("the prompt of " + prompt.length + " tokens and up to "
                    + request.maxNewTokens() + " new tokens need " + positions + " KV positions, more than one"
                    + " request may use: the whole cache holds (" + cachePositions + " = " + cache.totalBlocks()
                    + " blocks of " + cache.blockSize() + "; maxTokens " + config.maxTokens() + "), less one block"
                    + " kept for copying a cached prefix");
        }
        String id = request.id() != null ? request.id() : "request-" + unnamedRequests.incrementAndGet();
        return new Prepared(request, id, priority.value(), ticker.read(), prompt, newTokens, listener,
                new CompletableFuture<>());
    }

    /** Ticker time {@code timeout} after {@code arrival}; {@code Long.MAX_VALUE} for none or beyond reach. */
    private static long deadline(long arrival, Duration timeout) {
        if (timeout == null) {
            return Long.MAX_VALUE;
        }
        try {
            return Math.addExact(arrival, timeout.toNanos());
        } catch (ArithmeticException e) {
            return Long.MAX_VALUE;
        }
    }

    /**
     * The step loop, supervised: each iteration runs inside a guard, and a fault fails the requests it must (see
     * the class notes) instead of ending the loop. Only {@link #close()}, or a fault that leaves the engine
     * unusable, ends it.
     */
    private void runLoop() {
        boolean idle = true;
        int faults = 0;
        try {
            while (true) {
                try {
                    if (!takeCommands(idle) || stopping) {
                        return;
                    }
                    idle = iterate();
                    faults = 0;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                } catch (Throwable t) {
                    idle = false;
                    if (!survive(t, ++faults)) {
                        return;
                    }
                }
            }
        } finally {
            shutDown();
        }
    }

    /**
     * One iteration: deadlines, batches, a schedule and its step.
     *
     * @return whether the step was empty (the loop may then wait for commands)
     */
    private boolean iterate() {
        expireDeadlines(ticker.read());
        feedBatches();
        StepPlan plan = scheduler.schedule();
        for (SequenceState admitted : plan.admitted()) {
            leftQueue((Work) admitted);
        }
        for (SequenceState refused : plan.refused()) {
            Work work = (Work) refused;
            leftQueue(work);
            fail(work, new IllegalStateException("the KV cache cannot hold request " + work.id + " of "
                    + work.length() + " tokens even alone"));
        }
        failAll(plan.failed(), "its admission or growth in the KV cache");
        boolean idle = plan.isEmpty();
        if (!idle) {
            runStep(plan);
        }
        publishCacheState();
        return idle;
    }

    /**
     * A fault of the loop with no request to blame: fails the running requests (their state is in doubt), on a
     * second fault in a row the waiting ones too, and checks the cache. The engine fails when the fault makes it
     * unusable, repeats a third time, or the cache's books no longer add up.
     *
     * @return whether the loop goes on
     */
    private boolean survive(Throwable fault, int faultsInARow) {
        if (isFatal(fault) || faultsInARow > SURVIVABLE_LOOP_FAULTS) {
            enterFailed(fault);
            return false;
        }
        LOG.log(System.Logger.Level.ERROR, "step loop fault " + faultsInARow + " in a row; failing the "
                + (faultsInARow == 1 ? "running" : "running and waiting") + " requests", fault);
        try {
            List<SequenceState> dropped = faultsInARow == 1 ? scheduler.abortRunning() : scheduler.abortAll();
            if (faultsInARow > 1) {
                for (BatchFeed feed : feeds) {
                    feed.groups.forEach(group -> group.stream()
                            .filter(w -> w.status() == SequenceState.Status.NEW).forEach(dropped::add));
                }
                feeds.clear();
            }
            for (SequenceState s : dropped) {
                Work work = (Work) s;
                leftQueue(work);
                fail(work, new IllegalStateException("request " + work.id + " failed: the engine's step loop"
                        + " faulted while it was held (" + describe(fault) + ")", fault));
            }
            cache.checkInvariants();
            publishCacheState();
            return true;
        } catch (Throwable recovery) {
            recovery.addSuppressed(fault);
            enterFailed(recovery);
            return false;
        }
    }

    /**
     * Faults after which the engine cannot serve: a virtual machine error other than a heap or stack overflow
     * (which unwind and free what they held), e.g. an {@link InternalError} from a model file's mapping.
     */
    private static boolean isFatal(Throwable t) {
        return t instanceof FatalFault || (t instanceof VirtualMachineError
                && !(t instanceof OutOfMemoryError) && !(t instanceof StackOverflowError));
    }

    /** Moves the engine to its failed state: the loop ends and every request, held or later, fails with why. */
    private void enterFailed(Throwable cause) {
        Throwable reported = cause instanceof FatalFault fatal ? fatal.getCause() : cause;
        LOG.log(System.Logger.Level.ERROR, "the engine failed and serves no more requests", reported);
        synchronized (lifecycle) {
            failure = reported;
            closed = true;
            stopping = true;
        }
    }

    /**
     * Handles the commands that arrived; when the last step ran nothing, waits for one first. A command that
     * throws fails its own request.
     *
     * @return false once the engine closes
     */
    private boolean takeCommands(boolean idle) throws InterruptedException {
        Command command;
        if (!idle) {
            command = inbox.poll();
        } else if (deadlines.isEmpty() && scheduler.waitingCount() == 0) {
            command = inbox.take();
        } else {
            command = inbox.poll(IDLE_RECHECK_NANOS, TimeUnit.NANOSECONDS);
        }
        for (; command != null; command = inbox.poll()) {
            if (command instanceof Close) {
                return false;
            }
            try {
                handle(command);
            } catch (RuntimeException | Error e) {
                if (isFatal(e)) {
                    throw e;
                }
                failCommand(command, e);
            }
        }
        return true;
    }

    private void handle(Command command) {
        switch (command) {
            case Submit s -> {
                scheduler.add(s.work);
                watchDeadline(s.work);
            }
            case Feed f -> {
                feeds.add(f.feed);
                f.feed.groups.forEach(group -> group.forEach(this::watchDeadline));
            }
            case Abort a -> abort(a.work);
            case Task t -> t.task.run();
            case Close c -> {
            }
        }
    }

    /** A command threw: the requests it carried fail with the fault, and leave the scheduler if they entered. */
    private void failCommand(Command command, Throwable fault) {
        List<Work> works = switch (command) {
            case Submit s -> List.of(s.work);
            case Feed f -> {
                feeds.remove(f.feed);
                List<Work> all = new ArrayList<>();
                f.feed.groups.forEach(all::addAll);
                yield all;
            }
            case Abort a -> List.of(a.work);
            case Task t -> {
                t.done.completeExceptionally(fault);
                yield List.of();
            }
            case Close c -> List.of();
        };
        for (Work work : works) {
            scheduler.abort(work);
            leftQueue(work);
            fail(work, new IllegalStateException("request " + work.id + " failed: " + describe(fault), fault));
        }
    }

    private void watchDeadline(Work work) {
        if (work.deadline != Long.MAX_VALUE) {
            deadlines.add(work);
        }
    }

    /** A request's future was completed from outside (cancelled, or its listener threw): stop it. */
    private void abort(Work work) {
        if (work.status() == SequenceState.Status.DONE) {
            return;
        }
        scheduler.abort(work);
        leftQueue(work);
        retire(work);
    }

    private void expireDeadlines(long now) {
        while (!deadlines.isEmpty() && deadlines.peek().deadline - now <= 0) {
            Work work = deadlines.poll();
            if (work.status() == SequenceState.Status.DONE) {
                continue;
            }
            int generated = work.generated();
            scheduler.abort(work);
            leftQueue(work);
            fail(work, new TimeoutException("request " + work.id + " passed its deadline of "
                    + work.request.timeout() + " after " + generated + " generated tokens"));
        }
    }

    /** Puts the next group of each batch into the scheduler once the group before it is admitted. */
    private void feedBatches() {
        for (Iterator<BatchFeed> it = feeds.iterator(); it.hasNext(); ) {
            BatchFeed feed = it.next();
            while (feed.waiting == 0 && feed.next < feed.groups.size()) {
                for (Work work : feed.groups.get(feed.next)) {
                    if (work.status() == SequenceState.Status.NEW) {
                        work.fed = true;
                        feed.waiting++;
                        scheduler.add(work);
                    }
                }
                feed.next++;
            }
            if (feed.next == feed.groups.size()) {
                it.remove();
            }
        }
    }

    /** Counts a request out of the queue: admitted, or ended before it. Once per request. */
    private void leftQueue(Work work) {
        if (!work.awaitingAdmission) {
            return;
        }
        work.awaitingAdmission = false;
        if (work.counted) {
            queued.decrementAndGet();
        }
        if (work.fed) {
            work.feed.waiting--;
        }
    }

    /** Forgets a request the loop is done with: its deadline and sampler. */
    private void retire(Work work) {
        if (work.deadline != Long.MAX_VALUE) {
            deadlines.remove(work);
        }
        work.sampler = null;
    }

    /** Fails a request the scheduler has let go of: its future completes with {@code cause}, in event order. */
    private void fail(Work work, Throwable cause) {
        retire(work);
        deliver(() -> end(work, null, cause));
    }

    /** Fails each request the scheduler dropped, naming what of it faulted. */
    private void failAll(List<StepPlan.Failure> failures, String where) {
        for (StepPlan.Failure f : failures) {
            Work work = (Work) f.sequence();
            leftQueue(work);
            fail(work, new IllegalStateException("request " + work.id + " failed in " + where + ": "
                    + describe(f.cause()), f.cause()));
        }
    }

    private void runStep(StepPlan plan) {
        float[] logits;
        try {
            logits = forward(plan);
        } catch (Throwable fault) {
            if (isFatal(fault)) {
                throw fault;
            }
            stepFailed(plan, fault);
            return;
        }
        // The rows of logits, in batch order: known before completeStep moves the sequences on.
        List<SequenceState> sampling = new ArrayList<>();
        for (SequenceState s : plan.batch()) {
            if (s.samplesThisStep()) {
                sampling.add(s);
            }
        }
        failAll(scheduler.completeStep(plan), "the compaction of its KV entries");
        long now = ticker.read();
        int vocabulary = executor.vocabularySize();
        for (int row = 0; row < sampling.size(); row++) {
            Work work = (Work) sampling.get(row);
            if (work.status() != SequenceState.Status.RUNNING) {
                continue;
            }
            try {
                sample(work, logits, row * vocabulary, now);
            } catch (RuntimeException | StackOverflowError e) {
                int position = work.length() - 1;
                Throwable cause = e instanceof NonFiniteLogitsException nonFinite
                        ? nonFinite.at(config.model().description(), position) : e;
                scheduler.abort(work);
                fail(work, new IllegalStateException("request " + work.id + " failed sampling the token after"
                        + " position " + position + ": " + (cause == e ? describe(e) : cause.getMessage()), cause));
            }
        }
    }

    /** Runs the plan's forward pass, the probe first (tests inject faults there), and returns its logits. */
    private float[] forward(StepPlan plan) {
        List<String> ids = new ArrayList<>(plan.batch().size());
        plan.batch().forEach(s -> ids.add(((Work) s).id));
        stepProbe.beforeForward(plan.step(), ids);
        return executor.run(plan);
    }

    /**
     * A forward pass failed. Each sequence of the batch runs its rows again alone: those that fail alone are the
     * culprits and fail with their own fault; the others keep their place and run their rows again next step
     * (nothing of the failed step was recorded as computed). With no culprit the whole batch fails. The cache's
     * invariants are checked after.
     */
    private void stepFailed(StepPlan plan, Throwable fault) {
        List<SequenceState> batch = plan.batch();
        List<Work> culprits = new ArrayList<>();
        List<Throwable> causes = new ArrayList<>();
        if (batch.size() > 1) {
            for (SequenceState s : batch) {
                StepPlan alone = new StepPlan(plan.step(), List.of(s), s.scheduledRows(), List.of(), List.of(),
                        List.of(), List.of());
                try {
                    scheduler.rewind(s);
                    forward(alone);
                } catch (Throwable own) {
                    if (isFatal(own)) {
                        throw new FatalFault(own);
                    }
                    culprits.add((Work) s);
                    causes.add(own);
                }
            }
        }
        if (culprits.isEmpty()) {
            for (SequenceState s : batch) {
                culprits.add((Work) s);
                causes.add(fault);
            }
        }
        LOG.log(System.Logger.Level.WARNING, "step " + plan.step() + " failed (" + describe(fault) + "); failing "
                + culprits.size() + " of its " + batch.size() + " requests");
        scheduler.stepFailed(plan);
        for (int i = 0; i < culprits.size(); i++) {
            Work work = culprits.get(i);
            Throwable cause = causes.get(i);
            scheduler.abort(work);
            leftQueue(work);
            fail(work, new IllegalStateException("request " + work.id + " failed in the forward pass of step "
                    + plan.step() + ": " + describe(cause), cause));
        }
        try {
            cache.checkInvariants();
        } catch (RuntimeException broken) {
            broken.addSuppressed(fault);
            throw new FatalFault(broken);
        }
    }

    /** Samples a sequence's next token from its logits and appends it, streams it, or finishes the sequence. */
    private void sample(Work work, float[] logits, int offset, long now) {
        int token = work.sampler().sample(logits, offset);
        if (work.generated() == 0) {
            work.firstTokenNanos = now;
        }
        if (token == model.tokenizer().bosId() || token == model.tokenizer().eosId()) {
            finish(work, StopReason.END_OF_SEQUENCE, now);
            return;
        }
        work.append(token);
        stream(work, token);
        if (work.generated() == work.maxNewTokens()) {
            finish(work, work.request.maxNewTokens() > work.maxNewTokens() ? StopReason.CONTEXT_FULL
                    : StopReason.MAX_TOKENS, now);
        }
    }

    private void stream(Work work, int token) {
        if (work.listener == null) {
            return;
        }
        String text = work.utf8.append(model.tokenizer().decodeBytes(work.token(work.length() - 2), token));
        GeneratedToken generated = new GeneratedToken(work.id, work.generated() - 1, token, text);
        deliver(() -> {
            if (!work.future.isDone()) {
                try {
                    work.listener.onToken(generated);
                } catch (Throwable e) {
                    // Documented: a listener that throws, anything, stops its request.
                    end(work, null, e);
                }
            }
        });
    }

    private void finish(Work work, StopReason reason, long now) {
        int[] generated = work.generatedTokens();
        String text = SequenceRunner.decode(model.tokenizer(), work.token(work.promptTokens() - 1), generated);
        RequestResult result = new RequestResult(work.id, text, work.promptTokens(), work.cachedPromptTokens(),
                generated, reason, work.firstTokenNanos - work.arrivalNanos(), now - work.arrivalNanos());
        scheduler.finish(work);
        retire(work);
        deliver(() -> end(work, result, null));
    }

    private void deliver(Runnable event) {
        delivery.execute(event);
    }

    /** Fails everything the engine still holds, frees the cache and closes the model. */
    private void shutDown() {
        synchronized (lifecycle) {
            closed = true;
            stopping = true;
        }
        try {
            List<Work> left = new ArrayList<>();
            try {
                scheduler.abortAll().forEach(s -> left.add((Work) s));
            } catch (RuntimeException | Error e) {
                // The scheduler's books are beyond trust (the engine failed): fail every request still pending.
                left.addAll(outstanding);
            }
            for (BatchFeed feed : feeds) {
                feed.groups.forEach(left::addAll);
            }
            IllegalStateException halted = haltedException();
            for (Work work : left) {
                deliver(() -> end(work, null, halted));
            }
            for (Command command; (command = inbox.poll()) != null; ) {
                failClosed(command);
            }
        } finally {
            delivery.shutdown();
            try {
                cache.close();
            } finally {
                model.close();
            }
        }
    }

    private void failClosed(Command command) {
        IllegalStateException halted = haltedException();
        switch (command) {
            case Submit s -> end(s.work, null, halted);
            case Feed f -> f.feed.groups.forEach(g -> g.forEach(w -> end(w, null, halted)));
            case Task t -> t.done.completeExceptionally(halted);
            case Abort a -> {
            }
            case Close c -> {
            }
        }
    }

    /**
     * Ends a request: counts its outcome, then completes its future, so that whoever sees the future done sees
     * the stats count it. Once per request, whoever ends it first (the engine, or a caller cancelling).
     */
    private void end(Work work, RequestResult result, Throwable error) {
        if (!work.claimEnd()) {
            return;
        }
        countOutcome(result, error);
        if (result != null) {
            work.future.complete(result);
        } else {
            work.future.completeExceptionally(error);
        }
    }

    /** Counts one request's outcome: served (with its latency and hits), cancelled, expired or failed. */
    private void countOutcome(RequestResult result, Throwable error) {
        Throwable cause = error instanceof CompletionException && error.getCause() != null
                ? error.getCause() : error;
        synchronized (statsLock) {
            if (result != null) {
                latencies.recordValue(Math.max(0, result.latency().toNanos()));
                served++;
                if (result.cacheHit()) {
                    hits++;
                }
                promptTokens += result.promptTokens();
                cachedPromptTokens += result.cachedPromptTokens();
            } else if (cause instanceof CancellationException) {
                cancelled++;
            } else if (cause instanceof TimeoutException) {
                expired++;
            } else {
                failed++;
            }
        }
    }

    private void publishCacheState() {
        PrefixIndexStats index = cache.indexStats();
        synchronized (statsLock) {
            evictions = index.evictedBlocks();
            blocksUsed = cache.usedBlocks();
            blocksFree = cache.freeBlocks();
            kvBytesInUse = cache.usedBytes();
            preemptions = scheduler.preemptions();
            runningSequences = scheduler.runningCount();
            waitingRequests = scheduler.waitingCount();
            pinnedBlocks = cache.pinnedBlocks();
        }
    }

    private void countFailure() {
        synchronized (statsLock) {
            failed++;
        }
    }

    private void countSubmitted(int requests) {
        synchronized (statsLock) {
            submitted += requests;
        }
    }

    /** Called before each forward pass with the step's number and its requests' ids (tests inject faults). */
    @FunctionalInterface
    interface StepProbe {
        void beforeForward(long step, List<String> requestIds);
    }

    /** A fault that leaves the engine unusable, found while handling another: the loop fails the engine. */
    private static final class FatalFault extends RuntimeException {
        FatalFault(Throwable cause) {
            super(cause);
        }
    }

    /** What the loop is told through its inbox. */
    private sealed interface Command permits Submit, Feed, Abort, Task, Close {
    }

    /** A request to queue. */
    private record Submit(Work work) implements Command {
    }

    /** A batch to feed group by group. */
    private record Feed(BatchFeed feed) implements Command {
    }

    /** A request whose future completed from outside. */
    private record Abort(Work work) implements Command {
    }

    /** Code to run on the loop between steps (tests), and the future it completes. */
    private record Task(Runnable task, CompletableFuture<Void> done) implements Command {
    }

    /** The engine closes. */
    private record Close() implements Command {
    }

    /** A request checked and tokenized on the caller's thread. */
    private record Prepared(Request request, String id, int priority, long arrivalNanos, int[] prompt,
                            int newTokens, TokenListener listener, CompletableFuture<RequestResult> future) {
    }

    /** A batch of {@link #processBatchOptimized}: its groups, and how many of the current one wait. */
    private static final class BatchFeed {
        final List<List<Work>> groups = new ArrayList<>();
        int next;
        int waiting;
    }

    /** One request in the scheduler, with what answering it needs. */
    private final class Work extends SequenceState {
        final Request request;
        final String id;
        final TokenListener listener;
        final Utf8Stream utf8;
        final CompletableFuture<RequestResult> future;
        /** Ticker time by which it must be done; {@code Long.MAX_VALUE} for none. */
        final long deadline;
        final BatchFeed feed;
        /** Made at the first sample: a sampler holds two vocabulary-sized arrays, too much for every waiter. */
        Sampler sampler;
        boolean counted;
        boolean fed;
        boolean awaitingAdmission = true;
        long firstTokenNanos;
        /** Set by whoever ends the request first; its outcome is counted once. */
        private final AtomicBoolean ended = new AtomicBoolean();

        Work(Prepared p, long order, BatchFeed feed) {
            super(order, p.priority, p.arrivalNanos, p.prompt, p.newTokens);
            this.request = p.request;
            this.id = p.id;
            this.listener = p.listener;
            this.utf8 = p.listener == null ? null : new Utf8Stream();
            this.future = p.future;
            this.deadline = deadline(p.arrivalNanos, p.request.timeout());
            this.feed = feed;
            outstanding.add(this);
            future.whenComplete((result, e) -> {
                outstanding.remove(this);
                if (claimEnd()) {
                    // Completed from outside: cancelled, or completed by the caller.
                    countOutcome(result, e);
                }
                if (e != null) {
                    inbox.add(new Abort(this));
                }
            });
        }

        boolean claimEnd() {
            return ended.compareAndSet(false, true);
        }

        Sampler sampler() {
            if (sampler == null) {
                sampler = new Sampler(model.config().vocabularySize(), request.temperature(), 0f, 0,
                        request.seed());
            }
            return sampler;
        }
    }
}
