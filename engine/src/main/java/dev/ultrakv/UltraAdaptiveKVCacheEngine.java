package dev.ultrakv;

import dev.ultrakv.kvcache.KvCacheManager;
import dev.ultrakv.kvcache.KvCacheSpec;
import dev.ultrakv.kvcache.index.PrefixIndexStats;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.sampling.Sampler;
import dev.ultrakv.scheduler.Scheduler;
import dev.ultrakv.scheduler.SchedulerConfig;
import dev.ultrakv.scheduler.SequenceState;
import dev.ultrakv.scheduler.StepExecutor;
import dev.ultrakv.scheduler.StepPlan;
import dev.ultrakv.scheduler.Ticker;
import dev.ultrakv.tokenizer.SentencePieceTokenizer;
import dev.ultrakv.tokenizer.Tokenizer;

import org.HdrHistogram.Histogram;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
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

    /** Requests with a deadline, soonest first; the loop's. */
    private final PriorityQueue<Work> deadlines = new PriorityQueue<>(Comparator.comparingLong(w -> w.deadline));
    /** Batches still entering the scheduler; the loop's. */
    private final List<BatchFeed> feeds = new ArrayList<>();

    /** Guards the counters below, written by the loop and read by {@link #getStats()}. */
    private final Object statsLock = new Object();
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

    /**
     * Queues {@code request}; its future completes with the result when it is done. Cancel the future to stop
     * the request.
     *
     * @return a future that fails with an {@link IllegalArgumentException} naming the value for a bad request
     *         (empty text, unknown priority, {@code maxNewTokens < 1}, a bad temperature or timeout, a prompt
     *         longer than the model's context or than the cache can give one request), a
     *         {@link RejectedExecutionException} when the queue is full, a {@link TimeoutException} past the
     *         request's deadline, or an {@link IllegalStateException} once the engine is closed
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
        if (stopping) {
            return CompletableFuture.failedFuture(closedException());
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
        if (stopping) {
            return CompletableFuture.failedFuture(closedException());
        }
        List<CompletableFuture<RequestResult>> futures = new ArrayList<>(requests.size());
        List<Prepared> valid = new ArrayList<>(requests.size());
        for (Request request : requests) {
            Objects.requireNonNull(request, "request");
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
            List<Work> group = new ArrayList<>(batchSize);
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

    /** A consistent snapshot of the counters; safe from any thread, before and after {@link #close()}. */
    public EngineStats getStats() {
        synchronized (statsLock) {
            return new EngineStats(served, hits, served - hits, failed, promptTokens, cachedPromptTokens,
                    evictions, blocksUsed, blocksFree, kvBytesInUse, kvBytesCapacity,
                    percentile(latencies, 50), percentile(latencies, 95), percentile(latencies, 99),
                    preemptions, cancelled, expired, rejected);
        }
    }

    /** Percentile {@code p} of the recorded nanoseconds (zero when none are recorded). */
    static Duration percentile(Histogram histogram, double p) {
        return Duration.ofNanos(histogram.getTotalCount() == 0 ? 0 : histogram.getValueAtPercentile(p));
    }

    /**
     * Stops the step loop after its current step, fails every waiting and running request with an
     * {@link IllegalStateException}, frees the KV cache's memory and closes the model, then waits for the
     * delivery of what is left. Later submissions fail. Idempotent; called from a future's dependent action or a
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
        while (current != loop && current != deliveryThread && !delivery.isTerminated()) {
            try {
                delivery.awaitTermination(1, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
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

    private void runLoop() {
        boolean idle = true;
        try {
            while (takeCommands(idle) && !stopping) {
                expireDeadlines(ticker.read());
                feedBatches();
                StepPlan plan = scheduler.schedule();
                for (SequenceState admitted : plan.admitted()) {
                    leftQueue((Work) admitted);
                }
                for (SequenceState refused : plan.refused()) {
                    Work work = (Work) refused;
                    leftQueue(work);
                    retire(work);
                    countFailure();
                    deliver(() -> work.future.completeExceptionally(new IllegalStateException("the KV cache cannot"
                            + " hold request " + work.id + " of " + work.length() + " tokens even alone")));
                }
                idle = plan.isEmpty();
                if (!idle) {
                    runStep(plan);
                }
                publishCacheState();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } finally {
            shutDown();
        }
    }

    /**
     * Handles the commands that arrived; when the last step ran nothing, waits for one first.
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
                    return false;
                }
            }
        }
        return true;
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
        synchronized (statsLock) {
            if (work.future.isCancelled()) {
                cancelled++;
            } else {
                failed++;
            }
        }
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
            retire(work);
            synchronized (statsLock) {
                expired++;
            }
            deliver(() -> work.future.completeExceptionally(new TimeoutException("request " + work.id
                    + " passed its deadline of " + work.request.timeout() + " after " + generated
                    + " generated tokens")));
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

    private void runStep(StepPlan plan) {
        float[] logits;
        try {
            logits = executor.run(plan);
            scheduler.completeStep(plan);
        } catch (RuntimeException | Error e) {
            for (SequenceState s : plan.batch()) {
                Work work = (Work) s;
                scheduler.abort(work);
                retire(work);
                countFailure();
                deliver(() -> work.future.completeExceptionally(e));
            }
            if (e instanceof Error) {
                throw e;
            }
            return;
        }
        long now = ticker.read();
        int vocabulary = executor.vocabularySize();
        int bos = model.tokenizer().bosId();
        int eos = model.tokenizer().eosId();
        int row = 0;
        for (SequenceState s : plan.batch()) {
            if (s.status() != SequenceState.Status.RUNNING || s.computed() != s.length()) {
                continue;
            }
            Work work = (Work) s;
            int token = work.sampler().sample(logits, row++ * vocabulary);
            if (work.generated() == 0) {
                work.firstTokenNanos = now;
            }
            if (token == bos || token == eos) {
                finish(work, StopReason.END_OF_SEQUENCE, now);
                continue;
            }
            work.append(token);
            stream(work, token);
            if (work.generated() == work.maxNewTokens()) {
                finish(work, work.request.maxNewTokens() > work.maxNewTokens() ? StopReason.CONTEXT_FULL
                        : StopReason.MAX_TOKENS, now);
            }
        }
    }

    private void stream(Work work, int token) {
        if (work.listener == null) {
            return;
        }
        String text = work.utf8.append(tokenBytes(model.tokenizer(), work.token(work.length() - 2), token));
        GeneratedToken generated = new GeneratedToken(work.id, work.generated() - 1, token, text);
        deliver(() -> {
            if (!work.future.isDone()) {
                try {
                    work.listener.onToken(generated);
                } catch (RuntimeException e) {
                    work.future.completeExceptionally(e);
                }
            }
        });
    }

    /** The raw bytes of {@code token} after {@code previous}, as {@link SequenceRunner#decode} joins them. */
    private static byte[] tokenBytes(Tokenizer tokenizer, int previous, int token) {
        return tokenizer instanceof SentencePieceTokenizer sp ? sp.decodeUnfiltered(previous, token)
                : tokenizer.decode(previous, token);
    }

    private void finish(Work work, StopReason reason, long now) {
        scheduler.finish(work);
        retire(work);
        int[] generated = work.generatedTokens();
        String text = SequenceRunner.decode(model.tokenizer(), work.token(work.promptTokens() - 1), generated);
        RequestResult result = new RequestResult(work.id, text, work.promptTokens(), work.cachedPromptTokens(),
                generated, reason, work.firstTokenNanos - work.arrivalNanos(), now - work.arrivalNanos());
        record(result);
        deliver(() -> work.future.complete(result));
    }

    private void deliver(Runnable event) {
        delivery.execute(event);
    }

    /** Fails everything the engine still holds, frees the cache and closes the model. */
    private void shutDown() {
        synchronized (lifecycle) {
            closed = true;
        }
        try {
            List<Work> left = new ArrayList<>();
            scheduler.abortAll().forEach(s -> left.add((Work) s));
            for (BatchFeed feed : feeds) {
                feed.groups.forEach(left::addAll);
            }
            for (Work work : left) {
                deliver(() -> work.future.completeExceptionally(closedException()));
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
        switch (command) {
            case Submit s -> s.work.future.completeExceptionally(closedException());
            case Feed f -> f.feed.groups.forEach(g -> g.forEach(w -> w.future.completeExceptionally(
                    closedException())));
            case Task t -> t.done.completeExceptionally(closedException());
            case Abort a -> {
            }
            case Close c -> {
            }
        }
    }

    private void record(RequestResult result) {
        synchronized (statsLock) {
            latencies.recordValue(Math.max(0, result.latency().toNanos()));
            served++;
            if (result.cacheHit()) {
                hits++;
            }
            promptTokens += result.promptTokens();
            cachedPromptTokens += result.cachedPromptTokens();
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
        }
    }

    private void countFailure() {
        synchronized (statsLock) {
            failed++;
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

        Work(Prepared p, long order, BatchFeed feed) {
            super(order, p.priority, p.arrivalNanos, p.prompt, p.newTokens);
            this.request = p.request;
            this.id = p.id;
            this.listener = p.listener;
            this.utf8 = p.listener == null ? null : new Utf8Stream();
            this.future = p.future;
            this.deadline = deadline(p.arrivalNanos, p.request.timeout());
            this.feed = feed;
            future.whenComplete((result, e) -> {
                if (e != null) {
                    inbox.add(new Abort(this));
                }
            });
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
