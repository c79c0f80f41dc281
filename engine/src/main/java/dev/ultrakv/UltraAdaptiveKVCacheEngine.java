package dev.ultrakv;

import dev.ultrakv.chat.ChatFormat;
import dev.ultrakv.core.CacheSnapshot;
import dev.ultrakv.core.CoreOutputs;
import dev.ultrakv.core.CoreRequest;
import dev.ultrakv.core.Detokenizer;
import dev.ultrakv.core.EngineCore;
import dev.ultrakv.core.StepProbe;
import dev.ultrakv.kvcache.KvCacheManager;
import dev.ultrakv.kvcache.KvCacheSpec;
import dev.ultrakv.kvcache.tier.KvTiers;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.StopReason;
import dev.ultrakv.runner.CpuModelRunner;
import dev.ultrakv.sampling.TokenLogprob;
import dev.ultrakv.scheduler.Scheduler;
import dev.ultrakv.scheduler.SchedulerConfig;
import dev.ultrakv.scheduler.Ticker;
import dev.ultrakv.tokenizer.Tokenizer;
import org.HdrHistogram.Histogram;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
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
 * <b>Three rooms</b> (as vLLM's AsyncLLM, EngineCore and output processing): this class is the front, which
 * validates and tokenizes on the caller's thread, hands out futures, streams and counts; the
 * {@link EngineCore} runs the step loop (its notes say what an iteration does and how faults are supervised), with
 * the {@link dev.ultrakv.scheduler.Scheduler} deciding each step; the core's {@code Detokenizer} turns tokens into
 * text and finds stop strings.
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
    /** The thread that completes futures and calls listeners. */
    private static final String DELIVERY_THREAD_NAME = "ultrakv-delivery";
    /** Significant decimal digits of the latency histograms: 0.1% resolution. */
    private static final int LATENCY_SIGNIFICANT_DIGITS = 3;
    /**
     * How long {@link #close()} waits for listeners and dependent actions to return before it abandons them: long
     * enough for any listener that does its job, short enough that a stuck one cannot hang a shutdown.
     */
    static final Duration DEFAULT_CLOSE_GRACE = Duration.ofSeconds(10);
    /** Where abandoned deliveries are reported. */
    private static final System.Logger LOG = System.getLogger(UltraAdaptiveKVCacheEngine.class.getName());

    private final KVCacheConfig config;
    private final SchedulerConfig scheduling;
    private final Ticker ticker;
    private final LlamaModel model;
    private final KvCacheManager cache;
    private final EngineCore<Work> core;
    private final int contextLength;
    /** KV positions one request may use: the cache less one block, which a cached prefix may need to copy. */
    private final long requestPositions;
    private final long kvBytesCapacity;
    private final ExecutorService delivery;
    private volatile Thread deliveryThread;
    /** Requests of {@link #processRequest} submitted and not yet admitted (nor ended). */
    private final AtomicInteger queued = new AtomicInteger();
    private final AtomicLong submissions = new AtomicLong();
    private final AtomicLong unnamedRequests = new AtomicLong();
    /** Requests whose futures are not complete yet: {@link #close()} fails them if it abandons delivery. */
    private final Set<Work> outstanding = ConcurrentHashMap.newKeySet();
    private volatile Duration closeGrace = DEFAULT_CLOSE_GRACE;

    /** Guards the counters below, written where requests end and read by {@link #getStats()}. */
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
    private long generatedTokens;
    /** Latencies of served requests in nanoseconds; guarded by statsLock. */
    private final Histogram latencies = new Histogram(LATENCY_SIGNIFICANT_DIGITS);
    /** Times to first token of served requests in nanoseconds; guarded by statsLock. */
    private final Histogram timesToFirstToken = new Histogram(LATENCY_SIGNIFICANT_DIGITS);
    /** Times per output token after the first, of served requests of two tokens or more; guarded by statsLock. */
    private final Histogram timesPerOutputToken = new Histogram(LATENCY_SIGNIFICANT_DIGITS);

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
        this(config, scheduling, ticker, StepProbe.NONE);
    }

    /** An engine that calls {@code stepProbe} before each forward pass (tests: injected faults). */
    UltraAdaptiveKVCacheEngine(KVCacheConfig config, SchedulerConfig scheduling, Ticker ticker, StepProbe stepProbe) {
        this.config = Objects.requireNonNull(config, "config");
        this.scheduling = Objects.requireNonNull(scheduling, "scheduling");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        Objects.requireNonNull(stepProbe, "stepProbe");
        try {
            this.model = config.model().load();
        } catch (RuntimeException | Error e) {
            KvTiers.closeAll(config.tiers());
            throw e;
        }
        KvCacheManager manager = null;
        EngineCore<Work> started;
        this.delivery = Executors.newSingleThreadExecutor(task -> {
            Thread thread = Thread.ofPlatform().name(DELIVERY_THREAD_NAME).daemon(true).unstarted(task);
            deliveryThread = thread;
            return thread;
        });
        try {
            manager = new KvCacheManager(config.model().description(), model.config().kvLayout(),
                    cacheSpec(config).withAttentionSpan(model.config().attentionSpan()), config.tiers(),
                    config.tierLoadTimeout());
            started = new EngineCore<>(model, new CpuModelRunner(model, scheduling.stepTokens()), manager,
                    scheduling, ticker, stepProbe, new Outputs());
        } catch (RuntimeException | Error e) {
            if (manager != null) {
                manager.close();
            }
            model.close();
            delivery.shutdown();
            throw e;
        }
        this.cache = manager;
        this.core = started;
        this.contextLength = model.config().contextLength();
        this.requestPositions = (long) (cache.totalBlocks() - 1) * cache.blockSize();
        this.kvBytesCapacity = cache.capacityBytes();
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
                model.trainedContextLength(), model.config().vocabularySize(), model.chatTemplate().orElse(null));
    }

    /**
     * How chats are written for the model: its own template, or the plain format when its file has none. The
     * template's {@code bos_token} renders as nothing, since {@link #tokenize} puts the BOS token first itself.
     */
    public ChatFormat chatFormat() {
        return ChatFormat.of(model, false);
    }

    /**
     * The model's tokens for {@code text} as plain text ({@code addBos}: with the beginning-of-sequence token
     * first); texts of special tokens such as {@code <s>} are spelled out, not read as those tokens. Safe from any
     * thread; needs no step.
     *
     * @throws IllegalStateException once the engine is closed or failed (the model is released)
     */
    public int[] tokenize(String text, boolean addBos) {
        return tokenize(text, addBos, false);
    }

    /**
     * The model's tokens for {@code text}; with {@code parseSpecial} the texts of its special tokens (a chat
     * template's {@code <|im_start|>}) become those tokens, as llama.cpp's {@code parse_special}.
     *
     * @throws IllegalStateException once the engine is closed or failed (the model is released)
     */
    public int[] tokenize(String text, boolean addBos, boolean parseSpecial) {
        Objects.requireNonNull(text, "text");
        if (core.isHalted()) {
            throw core.haltedException();
        }
        return model.tokenizer().encode(text, addBos, parseSpecial);
    }

    /**
     * The tokens of {@code text} as a request's prompt is tokenized, as llama.cpp's server tokenizes a prompt: the
     * beginning-of-sequence token first where the model's tokenizer asks for it ({@code add_bos_token}; every
     * SentencePiece and llama2.c model), and special-token texts read as those tokens, so that a rendered chat
     * template's markers are single tokens.
     *
     * @throws IllegalStateException once the engine is closed or failed (the model is released)
     */
    public int[] tokenizePrompt(String text) {
        return tokenize(text, model.tokenizer().addsBos(), true);
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
        checkVocabulary(tokens, "token ");
        if (core.isHalted()) {
            throw core.haltedException();
        }
        return Detokenizer.decode(model.tokenizer(), -1, tokens);
    }

    /**
     * The bytes llama2.c's run.c prints for {@code token} after {@code previous}: its piece, less the leading space
     * after BOS, with a lone non-printable byte dropped ({@code safe_printf}). {@code ultrakv generate} prints these
     * so that its output is run.c's byte for byte; {@link GeneratedToken#text()} is the UTF-8 text instead.
     *
     * @throws IllegalArgumentException if a token id is outside the vocabulary
     */
    public byte[] printedBytes(int previous, int token) {
        int vocabulary = model.config().vocabularySize();
        if (token < 0 || token >= vocabulary || previous >= vocabulary) {
            throw new IllegalArgumentException("token ids " + previous + ", " + token + " outside the vocabulary of "
                    + vocabulary + " tokens");
        }
        return model.tokenizer().decode(previous, token);
    }

    /**
     * Queues {@code request}; its future completes with the result when it is done. Cancel the future to stop
     * the request.
     *
     * @return a future that fails with an {@link IllegalArgumentException} naming the value for a bad request
     *         (empty text, unknown priority, {@code maxNewTokens < 1}, a bad sampling setting, stop string or
     *         timeout, a prompt longer than the model's context or than the cache can give one request), a
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
        if (core.isHalted()) {
            countFailure();
            return CompletableFuture.failedFuture(core.haltedException());
        }
        Work work;
        try {
            work = new Work(prepare(request), submissions.getAndIncrement(), listener);
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
                    + ".maxQueuedRequests); request " + work.id() + " is rejected, retry later"));
        }
        work.counted = true;
        work.watch();
        core.submit(work);
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
        if (core.isHalted()) {
            synchronized (statsLock) {
                failed += requests.size();
            }
            return CompletableFuture.failedFuture(core.haltedException());
        }
        List<CompletableFuture<RequestResult>> futures = new ArrayList<>(requests.size());
        List<Prepared> valid = new ArrayList<>(requests.size());
        for (Request request : requests) {
            try {
                Prepared prepared = prepare(request);
                valid.add(prepared);
                futures.add(prepared.future());
            } catch (IllegalArgumentException e) {
                countFailure();
                futures.add(CompletableFuture.failedFuture(e));
            }
        }
        valid.sort((a, b) -> Arrays.compare(a.prompt(), b.prompt()));
        List<List<Work>> groups = new ArrayList<>();
        for (int start = 0; start < valid.size(); start += batchSize) {
            List<Work> group = new ArrayList<>(Math.min(batchSize, valid.size() - start));
            for (Prepared prepared : valid.subList(start, Math.min(valid.size(), start + batchSize))) {
                Work work = new Work(prepared, submissions.getAndIncrement(), null);
                work.watch();
                group.add(work);
            }
            groups.add(group);
        }
        if (!groups.isEmpty()) {
            core.submitBatch(groups);
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
        Throwable cause = core.failure();
        EngineState state = cause != null ? EngineState.FAILED
                : core.isHalted() ? EngineState.CLOSED : EngineState.RUNNING;
        CacheSnapshot c = core.snapshot();
        synchronized (statsLock) {
            return new EngineStats(
                    new EngineStats.Requests(submitted, served, failed, cancelled, expired, rejected, c.waiting(),
                            c.running(), c.preemptions()),
                    new EngineStats.Cache(hits, served - hits, promptTokens, cachedPromptTokens, generatedTokens,
                            c.evictions(), c.blocksUsed(), c.blocksFree(), c.blocksPinned(), c.kvBytesInUse(),
                            kvBytesCapacity),
                    new EngineStats.Latency(percentiles(latencies), percentiles(timesToFirstToken),
                            percentiles(timesPerOutputToken)),
                    tiers(), state, cause == null ? null : EngineCore.describe(cause));
        }
    }

    /** The tiers' counters: each tier's own, and what the engine promoted from them. */
    private EngineStats.Tiers tiers() {
        KvTiers tiers = cache.tiers();
        return new EngineStats.Tiers(tiers.stats(), tiers.loads(), tiers.promotedBlocks(), tiers.promotedTokens(),
                tiers.recomputedLoads(), tiers.rejectedRecords());
    }

    /** Percentile {@code p} of the recorded nanoseconds (zero when none are recorded). */
    static Duration percentile(Histogram histogram, double p) {
        return Duration.ofNanos(histogram.getTotalCount() == 0 ? 0 : histogram.getValueAtPercentile(p));
    }

    private static EngineStats.Percentiles percentiles(Histogram histogram) {
        return new EngineStats.Percentiles(percentile(histogram, 50), percentile(histogram, 95),
                percentile(histogram, 99));
    }

    /**
     * Stops the step loop after its current step, fails every waiting and running request with an
     * {@link IllegalStateException}, frees the KV cache's memory and closes the model, then waits for the
     * delivery of what is left: at most ten seconds, after which listeners and dependent actions that have not
     * returned are abandoned (interrupted) and every request whose future is still pending fails. Later
     * submissions fail. Idempotent; called from a future's dependent action or a listener (the delivery thread) it
     * does not wait for the deliveries.
     */
    @Override
    public void close() {
        boolean interrupted = core.close();
        Thread current = Thread.currentThread();
        long graceEnd = System.nanoTime() + closeGrace.toNanos();
        while (!core.isLoopThread() && current != deliveryThread && !delivery.isTerminated()) {
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
        return core.runOnLoop(() -> check.accept(cache));
    }

    /** Runs {@code check} on the step loop, between steps, with the scheduler (tests: who runs). */
    CompletableFuture<Void> onScheduler(Consumer<Scheduler<?>> check) {
        return core.runOnLoop(() -> check.accept(core.scheduler()));
    }

    /** Checks {@code request} and tokenizes it on the caller's thread (the tokenizer is thread-safe). */
    private Prepared prepare(Request request) {
        Priority priority = Priority.of(request.priority());
        int[] given = request.promptTokens();
        if (given == null && request.text().isEmpty()) {
            throw new IllegalArgumentException("request text is empty");
        }
        if (given != null) {
            checkTokens(given);
        }
        if (request.maxNewTokens() < 1) {
            throw new IllegalArgumentException("maxNewTokens must be at least 1: " + request.maxNewTokens());
        }
        request.sampling().validate();
        checkStops(request.stop());
        if (request.logprobs() != Request.NO_LOGPROBS
                && (request.logprobs() < 0 || request.logprobs() > Request.MAX_TOP_LOGPROBS)) {
            throw new IllegalArgumentException("logprobs must be " + Request.NO_LOGPROBS + " (none) or 0 to "
                    + Request.MAX_TOP_LOGPROBS + " alternatives: " + request.logprobs());
        }
        if (request.timeout() != null && (request.timeout().isNegative() || request.timeout().isZero())) {
            throw new IllegalArgumentException("timeout must be positive: " + request.timeout());
        }
        Tokenizer tokenizer = model.tokenizer();
        int[] prompt = given != null ? given : tokenizer.encode(request.text(), tokenizer.addsBos(), true);
        if (prompt.length > contextLength) {
            throw new IllegalArgumentException("the prompt has " + prompt.length + " tokens, more than the model's"
                    + " context length " + contextLength);
        }
        // The last position a prompt may generate from is the context's last: the token sampled there is not run.
        int newTokens = Math.min(request.maxNewTokens(), contextLength - prompt.length + 1);
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
        return new Prepared(request, id, priority.value(), ticker.read(), prompt, newTokens,
                new CompletableFuture<>());
    }

    /** A prompt given as tokens: at least one, each in the vocabulary. */
    private void checkTokens(int[] tokens) {
        if (tokens.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens");
        }
        checkVocabulary(tokens, "prompt token ");
    }

    /** Every id of {@code tokens} is in the vocabulary; else the first that is not, named as {@code what} i. */
    private void checkVocabulary(int[] tokens, String what) {
        int vocabulary = model.config().vocabularySize();
        for (int i = 0; i < tokens.length; i++) {
            if (tokens[i] < 0 || tokens[i] >= vocabulary) {
                throw new IllegalArgumentException(what + i + " is " + tokens[i] + ", outside the vocabulary of "
                        + vocabulary + " tokens");
            }
        }
    }

    private static void checkStops(List<String> stops) {
        if (stops.size() > Request.MAX_STOP_STRINGS) {
            throw new IllegalArgumentException("at most " + Request.MAX_STOP_STRINGS + " stop strings: "
                    + stops.size());
        }
        for (int i = 0; i < stops.size(); i++) {
            String stop = stops.get(i);
            if (stop == null || stop.isEmpty() || stop.length() > Request.MAX_STOP_LENGTH) {
                throw new IllegalArgumentException("stop string " + i + " must have 1 to " + Request.MAX_STOP_LENGTH
                        + " characters: " + (stop == null ? "null" : stop.length() + " characters"));
            }
        }
    }

    /** Hands an event to the delivery thread; once that is shut down (the engine halted), runs it here. */
    private void deliver(Runnable event) {
        try {
            delivery.execute(event);
        } catch (RejectedExecutionException e) {
            event.run();
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
                long latency = Math.max(0, result.latency().toNanos());
                long firstToken = Math.max(0, result.timeToFirstToken().toNanos());
                latencies.recordValue(latency);
                timesToFirstToken.recordValue(firstToken);
                if (result.generatedTokens() > 1) {
                    timesPerOutputToken.recordValue(Math.max(0, latency - firstToken) / (result.generatedTokens() - 1));
                }
                generatedTokens += result.generatedTokens();
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

    /** What the core tells the front, handed to the delivery thread in the order the loop produced it. */
    private final class Outputs implements CoreOutputs<Work> {
        @Override
        public void leftQueue(Work work) {
            if (work.counted) {
                queued.decrementAndGet();
            }
        }

        @Override
        public void token(Work work, int index, int tokenId, String text, TokenLogprob logprob) {
            GeneratedToken generated = new GeneratedToken(work.id(), index, tokenId, text, logprob);
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

        @Override
        public void finished(Work work, String text, StopReason reason, long nowNanos) {
            RequestResult result = new RequestResult(work.id(), text, work.promptTokens(),
                    work.cachedPromptTokens(), work.generatedTokens(), reason,
                    work.firstTokenNanos() - work.arrivalNanos(), nowNanos - work.arrivalNanos(), work.logprobs());
            deliver(() -> end(work, result, null));
        }

        @Override
        public void failed(Work work, Throwable cause) {
            deliver(() -> end(work, null, cause));
        }

        @Override
        public void halted() {
            delivery.shutdown();
        }
    }

    /** A request checked and tokenized on the caller's thread, before it has a place in submission order. */
    private record Prepared(Request request, String id, int priority, long arrivalNanos, int[] prompt, int newTokens,
                            CompletableFuture<RequestResult> future) {
    }

    /** One request in the core, with what answering it needs. */
    private final class Work extends CoreRequest {
        final TokenListener listener;
        final CompletableFuture<RequestResult> future;
        boolean counted;
        /** Set by whoever ends the request first; its outcome is counted once. */
        private final AtomicBoolean ended = new AtomicBoolean();

        /** {@code p}, placed {@code order}-th in submission order (a batch sorts its requests first). */
        Work(Prepared p, long order, TokenListener listener) {
            super(p.id(), order, p.priority(), p.arrivalNanos(), p.prompt(), p.newTokens(),
                    p.request().maxNewTokens(), p.request().sampling(), p.request().seed(), p.request().stop(),
                    p.request().logprobs(), p.request().timeout(), listener != null, p.request().ignoreEos());
            this.listener = listener;
            this.future = p.future();
        }

        /** Follows the future: counted once if completed from outside, and stopped in the core when it fails. */
        void watch() {
            outstanding.add(this);
            future.whenComplete((result, e) -> {
                outstanding.remove(this);
                if (claimEnd()) {
                    // Completed from outside: cancelled, or completed by the caller.
                    countOutcome(result, e);
                }
                if (e != null) {
                    core.abort(this);
                }
            });
        }

        boolean claimEnd() {
            return ended.compareAndSet(false, true);
        }
    }
}
