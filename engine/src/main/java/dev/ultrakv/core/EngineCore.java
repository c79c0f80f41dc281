package dev.ultrakv.core;

import dev.ultrakv.kvcache.KvCacheManager;
import dev.ultrakv.kvcache.index.PrefixIndexStats;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.StopReason;
import dev.ultrakv.runner.ModelRunner;
import dev.ultrakv.sampling.Logprobs;
import dev.ultrakv.sampling.NonFiniteLogitsException;
import dev.ultrakv.sampling.TokenLogprob;
import dev.ultrakv.scheduler.Scheduler;
import dev.ultrakv.scheduler.SchedulerConfig;
import dev.ultrakv.scheduler.SequenceState;
import dev.ultrakv.scheduler.StepExecutor;
import dev.ultrakv.scheduler.StepPlan;
import dev.ultrakv.scheduler.Ticker;
import dev.ultrakv.tokenizer.Tokenizer;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.PriorityQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.IntStream;

/**
 * The engine core: its inbox, its one step-loop thread, deadlines, cancellation and supervision. It owns the
 * model's buffers, the KV cache and the {@link Scheduler}; each iteration takes the commands that arrived, stops
 * the requests past their deadline, asks the scheduler for a step, runs it as one forward pass, samples the
 * sequences whose rows reached their last token, decodes their text (stop strings included) and retires those that
 * stop. It tells the front what happened through {@link CoreOutputs}, on the loop's thread; the front validates,
 * tokenizes, and answers futures and listeners (vLLM's EngineCore beside AsyncLLM).
 *
 * <p><b>Supervision.</b> A fault while serving fails only the requests it must, and the loop serves on: a fault
 * tied to one request (its admission, its blocks, its compaction, its sampling) fails that request; a forward pass
 * that fails is run again for each sequence of its batch alone, and those that fail alone are the culprits (with no
 * culprit the whole batch fails); the others run their rows again next step, rewound first. Any other fault of an
 * iteration fails the running requests, a second in a row the waiting ones too. After each, the cache's invariants
 * are checked. A fault that leaves the engine unusable (a virtual machine error other than running out of heap or
 * stack, broken invariants, a third loop fault in a row) ends the loop: every held and later request then fails
 * with {@link #haltedException()}, which names the cause (docs/faults.md).
 *
 * @param <R> the front's request type, handed back in every event
 */
public final class EngineCore<R extends CoreRequest> {
    /** The step-loop thread's name, to find it in thread dumps. */
    public static final String LOOP_THREAD_NAME = "ultrakv-step-loop";
    /**
     * Longest an idle loop sleeps while requests wait or deadlines are pending: deadlines are met within it, and
     * an injected ticker that jumps is noticed.
     */
    private static final long IDLE_RECHECK_NANOS = TimeUnit.MILLISECONDS.toNanos(20);
    /**
     * Loop faults in a row, with no request to blame, that the engine survives: the first fails the running
     * requests, the second the waiting ones too; one more means the fault does not depend on the requests.
     */
    private static final int SURVIVABLE_LOOP_FAULTS = 2;
    /** Where faults are reported (the JDK's platform logging: no dependency, routed to any backend). */
    private static final System.Logger LOG = System.getLogger("dev.ultrakv.UltraAdaptiveKVCacheEngine");

    private final LlamaModel model;
    private final KvCacheManager cache;
    private final Scheduler<R> scheduler;
    private final StepExecutor executor;
    /** The tokens whose sampling ends a generation (BOS and every end-of-generation token), in id order. */
    private final int[] endingTokens;
    private final Ticker ticker;
    private final StepProbe stepProbe;
    private final CoreOutputs<R> outputs;
    private final Thread loop;
    private final LinkedBlockingQueue<Command<R>> inbox = new LinkedBlockingQueue<>();
    /** Guards {@link #closed} against submissions racing with {@link #close()} or a failure. */
    private final Object lifecycle = new Object();
    private boolean closed;
    /** Set when the core stops serving (closed or failed): the front refuses work at once. */
    private volatile boolean stopping;
    /** Why the core failed; null while it has not. Set once, by the loop. */
    private volatile Throwable failure;
    private volatile CacheSnapshot snapshot;

    /** Requests with a deadline, soonest first; the loop's. */
    private final PriorityQueue<R> deadlines = new PriorityQueue<>(Comparator.comparingLong(
            CoreRequest::deadlineNanos));
    /** Batches still entering the scheduler; the loop's. */
    private final List<BatchFeed<R>> feeds = new ArrayList<>();

    /**
     * Starts the loop over {@code model} (its tokenizer; {@code runner} runs its forward passes) and {@code cache},
     * which the core closes when its loop ends.
     *
     * @throws IllegalArgumentException if the runner takes fewer rows than a step holds (nothing is then started
     *                                  or closed)
     */
    public EngineCore(LlamaModel model, ModelRunner runner, KvCacheManager cache, SchedulerConfig scheduling,
                      Ticker ticker, StepProbe stepProbe, CoreOutputs<R> outputs) {
        this.model = Objects.requireNonNull(model, "model");
        this.cache = Objects.requireNonNull(cache, "cache");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.stepProbe = Objects.requireNonNull(stepProbe, "stepProbe");
        this.outputs = Objects.requireNonNull(outputs, "outputs");
        if (runner.maxRows() < scheduling.stepTokens()) {
            throw new IllegalArgumentException("the model runner takes " + runner.maxRows() + " rows a step; the"
                    + " scheduler plans up to " + scheduling.stepTokens());
        }
        this.executor = new StepExecutor(runner);
        this.endingTokens = endingTokens(model.tokenizer(), executor.vocabularySize());
        this.scheduler = new Scheduler<>(cache, scheduling, ticker);
        // A load from the tiers finishes on a tier's thread: wake an idle loop so that it promotes at once.
        scheduler.onLoadDone(() -> inbox.add(new Wake<>()));
        publishCacheState();
        this.loop = Thread.ofPlatform().name(LOOP_THREAD_NAME).daemon(true).unstarted(this::runLoop);
        loop.start();
    }

    /** Queues {@code request} for admission; if the core no longer serves, fails it at once. */
    public void submit(R request) {
        submit(new Submit<>(request));
    }

    /**
     * Queues a batch: each group enters the scheduler once the group before it has been admitted, so that a
     * group's shared prefix is computed by its first request and found cached by the rest.
     */
    public void submitBatch(List<List<R>> groups) {
        BatchFeed<R> feed = new BatchFeed<>(groups);
        for (List<R> group : groups) {
            group.forEach(r -> r.feed = feed);
        }
        submit(new Feed<>(feed));
    }

    /** Stops {@code request} wherever it is (its future was completed from outside) and frees its blocks. */
    public void abort(R request) {
        inbox.add(new Abort<>(request));
    }

    /** Runs {@code task} on the loop, between steps (tests: invariants, who runs). */
    public CompletableFuture<Void> runOnLoop(Runnable task) {
        CompletableFuture<Void> done = new CompletableFuture<>();
        submit(new Task<>(() -> {
            try {
                task.run();
                done.complete(null);
            } catch (RuntimeException | Error e) {
                done.completeExceptionally(e);
            }
        }, done));
        return done;
    }

    /** The scheduler; only for code running on the loop ({@link #runOnLoop}). */
    public Scheduler<R> scheduler() {
        return scheduler;
    }

    /** Whether the core stopped serving: closed, or failed. */
    public boolean isHalted() {
        return stopping;
    }

    /** Why the core failed, or null. */
    public Throwable failure() {
        return failure;
    }

    /** The cache and scheduler as of the last iteration. */
    public CacheSnapshot snapshot() {
        return snapshot;
    }

    /** Whether the calling thread is the loop's. */
    public boolean isLoopThread() {
        return Thread.currentThread() == loop;
    }

    /** What a request gets once the core no longer serves: closed, or failed with its cause. */
    public IllegalStateException haltedException() {
        Throwable cause = failure;
        return cause == null ? new IllegalStateException("engine closed")
                : new IllegalStateException("engine failed: " + describe(cause), cause);
    }

    /** A fault in one line: its type and message. */
    public static String describe(Throwable t) {
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
    }

    /**
     * Stops the loop after its current step; it fails every held request and releases the cache and the model.
     * Waits for the loop unless called on it. Idempotent.
     *
     * @return whether the calling thread was interrupted while waiting
     */
    public boolean close() {
        synchronized (lifecycle) {
            if (!closed) {
                closed = true;
                stopping = true;
                inbox.add(new Close<>());
            }
        }
        boolean interrupted = false;
        while (!isLoopThread() && loop.isAlive()) {
            try {
                loop.join();
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        return interrupted;
    }

    private void submit(Command<R> command) {
        synchronized (lifecycle) {
            if (!closed) {
                inbox.add(command);
                return;
            }
        }
        failHalted(command);
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
        StepPlan<R> plan = scheduler.schedule();
        for (R admitted : plan.admitted()) {
            leftQueue(admitted);
        }
        for (R request : plan.refused()) {
            leftQueue(request);
            fail(request, new IllegalStateException("the KV cache cannot hold request " + request.id() + " of "
                    + request.length() + " tokens even alone"));
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
     * second fault in a row the waiting ones too, and checks the cache. The core fails when the fault makes it
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
            List<R> dropped = faultsInARow == 1 ? scheduler.abortRunning() : scheduler.abortAll();
            if (faultsInARow > 1) {
                for (BatchFeed<R> feed : feeds) {
                    feed.groups.forEach(group -> group.stream()
                            .filter(r -> r.status() == SequenceState.Status.NEW).forEach(dropped::add));
                }
                feeds.clear();
            }
            for (R request : dropped) {
                leftQueue(request);
                fail(request, new IllegalStateException("request " + request.id() + " failed: the engine's step"
                        + " loop faulted while it was held (" + describe(fault) + ")", fault));
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

    /** Moves the core to its failed state: the loop ends and every request, held or later, fails with why. */
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
     * @return false once the core closes
     */
    private boolean takeCommands(boolean idle) throws InterruptedException {
        Command<R> command;
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

    private void handle(Command<R> command) {
        switch (command) {
            case Submit<R> s -> {
                scheduler.add(s.request);
                watchDeadline(s.request);
            }
            case Feed<R> f -> {
                feeds.add(f.feed);
                f.feed.groups.forEach(group -> group.forEach(this::watchDeadline));
            }
            case Abort<R> a -> stop(a.request);
            case Task<R> t -> t.task.run();
            case Wake<R> w -> {
            }
            case Close<R> c -> {
            }
        }
    }

    /** A command threw: the requests it carried fail with the fault, and leave the scheduler if they entered. */
    private void failCommand(Command<R> command, Throwable fault) {
        List<R> requests = switch (command) {
            case Submit<R> s -> List.of(s.request);
            case Feed<R> f -> {
                feeds.remove(f.feed);
                List<R> all = new ArrayList<>();
                f.feed.groups.forEach(all::addAll);
                yield all;
            }
            case Abort<R> a -> List.of(a.request);
            case Task<R> t -> {
                t.done.completeExceptionally(fault);
                yield List.of();
            }
            case Wake<R> w -> List.of();
            case Close<R> c -> List.of();
        };
        for (R request : requests) {
            scheduler.abort(request);
            leftQueue(request);
            fail(request, new IllegalStateException("request " + request.id() + " failed: " + describe(fault),
                    fault));
        }
    }

    private void watchDeadline(R request) {
        if (request.deadlineNanos() != Long.MAX_VALUE) {
            deadlines.add(request);
        }
    }

    /** A request's future was completed from outside (cancelled, or its listener threw): stop it. */
    private void stop(R request) {
        if (request.status() == SequenceState.Status.DONE) {
            return;
        }
        scheduler.abort(request);
        leftQueue(request);
        retire(request);
    }

    private void expireDeadlines(long now) {
        while (!deadlines.isEmpty() && deadlines.peek().deadlineNanos() - now <= 0) {
            R request = deadlines.poll();
            if (request.status() == SequenceState.Status.DONE) {
                continue;
            }
            int generated = request.generated();
            scheduler.abort(request);
            leftQueue(request);
            fail(request, new TimeoutException("request " + request.id() + " passed its deadline of "
                    + request.timeout() + " after " + generated + " generated tokens"));
        }
    }

    /** Puts the next group of each batch into the scheduler once the group before it is admitted. */
    private void feedBatches() {
        for (Iterator<BatchFeed<R>> it = feeds.iterator(); it.hasNext(); ) {
            BatchFeed<R> feed = it.next();
            while (feed.waiting == 0 && feed.next < feed.groups.size()) {
                for (R request : feed.groups.get(feed.next)) {
                    if (request.status() == SequenceState.Status.NEW) {
                        request.fed = true;
                        feed.waiting++;
                        scheduler.add(request);
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
    private void leftQueue(R request) {
        if (!request.awaitingAdmission) {
            return;
        }
        request.awaitingAdmission = false;
        if (request.fed) {
            request.feed.waiting--;
        }
        outputs.leftQueue(request);
    }

    /** Forgets a request the loop is done with: its deadline and sampler. */
    private void retire(R request) {
        if (request.deadlineNanos() != Long.MAX_VALUE) {
            deadlines.remove(request);
        }
        request.sampler = null;
    }

    /** Fails a request the scheduler has let go of. */
    private void fail(R request, Throwable cause) {
        retire(request);
        outputs.failed(request, cause);
    }

    /** Fails each request the scheduler dropped, naming what of it faulted. */
    private void failAll(List<StepPlan.Failure<R>> failures, String where) {
        for (StepPlan.Failure<R> f : failures) {
            R request = f.sequence();
            leftQueue(request);
            fail(request, new IllegalStateException("request " + request.id() + " failed in " + where + ": "
                    + describe(f.cause()), f.cause()));
        }
    }

    private void runStep(StepPlan<R> plan) {
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
        List<R> sampling = new ArrayList<>();
        for (R request : plan.batch()) {
            if (request.samplesThisStep()) {
                sampling.add(request);
            }
        }
        failAll(scheduler.completeStep(plan), "the compaction of its KV entries");
        long now = ticker.read();
        int vocabulary = executor.vocabularySize();
        for (int row = 0; row < sampling.size(); row++) {
            R request = sampling.get(row);
            if (request.status() != SequenceState.Status.RUNNING) {
                continue;
            }
            try {
                sample(request, logits, row * vocabulary, now);
            } catch (RuntimeException | StackOverflowError e) {
                int position = request.length() - 1;
                Throwable cause = e instanceof NonFiniteLogitsException nonFinite
                        ? nonFinite.at(model.name(), position) : e;
                scheduler.abort(request);
                fail(request, new IllegalStateException("request " + request.id() + " failed sampling the token"
                        + " after position " + position + ": " + (cause == e ? describe(e) : cause.getMessage()),
                        cause));
            }
        }
    }

    /** Runs the plan's forward pass, the probe first (tests inject faults there), and returns its logits. */
    private float[] forward(StepPlan<R> plan) {
        if (stepProbe != StepProbe.NONE) {
            // Only tests probe: a serving engine builds no list of ids per step.
            List<String> ids = new ArrayList<>(plan.batch().size());
            plan.batch().forEach(request -> ids.add(request.id()));
            stepProbe.beforeForward(plan.step(), ids);
        }
        return executor.run(plan);
    }

    /**
     * A forward pass failed. Each sequence of the batch runs its rows again alone: those that fail alone are the
     * culprits and fail with their own fault; the others keep their place and run their rows again next step
     * (nothing of the failed step was recorded as computed). With no culprit the whole batch fails. The cache's
     * invariants are checked after.
     */
    private void stepFailed(StepPlan<R> plan, Throwable fault) {
        List<R> batch = plan.batch();
        List<R> culprits = new ArrayList<>();
        List<Throwable> causes = new ArrayList<>();
        if (batch.size() > 1) {
            for (R request : batch) {
                try {
                    scheduler.rewind(request);
                    forward(plan.alone(request));
                } catch (Throwable own) {
                    if (isFatal(own)) {
                        throw new FatalFault(own);
                    }
                    culprits.add(request);
                    causes.add(own);
                }
            }
        }
        if (culprits.isEmpty()) {
            for (R request : batch) {
                culprits.add(request);
                causes.add(fault);
            }
        }
        LOG.log(System.Logger.Level.WARNING, "step " + plan.step() + " failed (" + describe(fault) + "); failing "
                + culprits.size() + " of its " + batch.size() + " requests");
        scheduler.stepFailed(plan);
        for (int i = 0; i < culprits.size(); i++) {
            R request = culprits.get(i);
            Throwable cause = causes.get(i);
            scheduler.abort(request);
            leftQueue(request);
            fail(request, new IllegalStateException("request " + request.id() + " failed in the forward pass of"
                    + " step " + plan.step() + ": " + describe(cause), cause));
        }
        try {
            cache.checkInvariants();
        } catch (RuntimeException broken) {
            broken.addSuppressed(fault);
            throw new FatalFault(broken);
        }
    }

    /** The ids below {@code vocabulary} whose sampling ends a generation in {@link #sample}. */
    private static int[] endingTokens(Tokenizer tokenizer, int vocabulary) {
        return IntStream.range(0, vocabulary)
                .filter(id -> id == tokenizer.bosId() || tokenizer.endsGeneration(id)).toArray();
    }

    /**
     * Samples a sequence's next token from its logits and appends it, streams it, or finishes the sequence. A
     * request that ignores EOS never samples an ending token: their logits are set to minus infinity first, as
     * llama.cpp's {@code ignore_eos} does.
     */
    private void sample(R request, float[] logits, int offset, long now) {
        int vocabulary = executor.vocabularySize();
        // Log-probabilities are of the raw logits, which sampling overwrites.
        float[] raw = request.logprobsAsked() == CoreRequest.NO_LOGPROBS ? null
                : Arrays.copyOfRange(logits, offset, offset + vocabulary);
        if (request.ignoresEos()) {
            for (int ending : endingTokens) {
                logits[offset + ending] = Float.NEGATIVE_INFINITY;
            }
        }
        int token = request.sampler(vocabulary).sample(logits, offset);
        if (request.generated() == 0) {
            request.firstTokenNanos = now;
        }
        if (token == model.tokenizer().bosId() || model.tokenizer().endsGeneration(token)) {
            finish(request, StopReason.END_OF_SEQUENCE, now);
            return;
        }
        int previous = request.token(request.length() - 1);
        TokenLogprob logprob = raw == null ? null : logprob(raw, previous, token, request.logprobsAsked());
        request.append(token);
        request.sampler.accept(token);
        if (logprob != null) {
            request.generatedLogprobs.add(logprob);
        }
        if (request.detokenizer == null && (request.streams() || !request.stop().isEmpty())) {
            request.detokenizer = new Detokenizer(model.tokenizer(), request.stop());
        }
        String text = request.detokenizer == null ? null : request.detokenizer.append(previous, token);
        if (request.streams()) {
            outputs.token(request, request.generated() - 1, token, text, logprob);
        }
        if (request.detokenizer != null && request.detokenizer.stopped()) {
            finish(request, StopReason.STOP_STRING, now);
        } else if (request.generated() == request.maxNewTokens()) {
            finish(request, request.requestedNewTokens() > request.maxNewTokens() ? StopReason.CONTEXT_FULL
                    : StopReason.MAX_TOKENS, now);
        }
    }

    /** The log-probability of {@code token} and of the {@code top} most likely tokens, over the raw logits. */
    private TokenLogprob logprob(float[] raw, int previous, int token, int top) {
        double logPartition = Logprobs.logPartition(raw, 0, raw.length);
        List<TokenLogprob.Alternative> alternatives = new ArrayList<>(top);
        for (int id : Logprobs.top(raw, 0, raw.length, top)) {
            alternatives.add(new TokenLogprob.Alternative(id, tokenText(previous, id),
                    (float) (raw[id] - logPartition)));
        }
        return new TokenLogprob(token, tokenText(previous, token), (float) (raw[token] - logPartition),
                alternatives);
    }

    private String tokenText(int previous, int token) {
        return new String(model.tokenizer().decodeBytes(previous, token), StandardCharsets.UTF_8);
    }

    private void finish(R request, StopReason reason, long now) {
        String text = reason == StopReason.STOP_STRING ? request.detokenizer.text()
                : Detokenizer.decode(model.tokenizer(), request.token(request.promptTokens() - 1),
                request.generatedTokens());
        scheduler.finish(request);
        retire(request);
        outputs.finished(request, text, reason, now);
    }

    /** Fails everything the core still holds, frees the cache and closes the model. */
    private void shutDown() {
        synchronized (lifecycle) {
            closed = true;
            stopping = true;
        }
        try {
            List<R> left = new ArrayList<>();
            try {
                left.addAll(scheduler.abortAll());
            } catch (RuntimeException | Error e) {
                // The scheduler's books are beyond trust (the core failed); the front fails what it still holds.
                LOG.log(System.Logger.Level.ERROR, "the scheduler could not be emptied", e);
            }
            for (BatchFeed<R> feed : feeds) {
                feed.groups.forEach(left::addAll);
            }
            for (R request : left) {
                outputs.failed(request, haltedException());
            }
            for (Command<R> command; (command = inbox.poll()) != null; ) {
                failHalted(command);
            }
        } finally {
            try {
                cache.close();
            } finally {
                try {
                    model.close();
                } finally {
                    outputs.halted();
                }
            }
        }
    }

    private void failHalted(Command<R> command) {
        switch (command) {
            case Submit<R> s -> outputs.failed(s.request, haltedException());
            case Feed<R> f -> f.feed.groups.forEach(g -> g.forEach(r -> outputs.failed(r, haltedException())));
            case Task<R> t -> t.done.completeExceptionally(haltedException());
            case Abort<R> a -> {
            }
            case Wake<R> w -> {
            }
            case Close<R> c -> {
            }
        }
    }

    private void publishCacheState() {
        PrefixIndexStats index = cache.indexStats();
        snapshot = new CacheSnapshot(index.evictedBlocks(), cache.usedBlocks(), cache.freeBlocks(),
                cache.pinnedBlocks(), cache.usedBytes(), scheduler.preemptions(), scheduler.waitingCount(),
                scheduler.runningCount());
    }

    /** What the loop is told through its inbox. */
    private sealed interface Command<R> permits Submit, Feed, Abort, Task, Wake, Close {
    }

    /** A request to queue. */
    private record Submit<R>(R request) implements Command<R> {
    }

    /** A batch to feed group by group. */
    private record Feed<R>(BatchFeed<R> feed) implements Command<R> {
    }

    /** A request whose future completed from outside. */
    private record Abort<R>(R request) implements Command<R> {
    }

    /** Code to run on the loop between steps (tests), and the future it completes. */
    private record Task<R>(Runnable task, CompletableFuture<Void> done) implements Command<R> {
    }

    /** Something the loop waits for is ready (a load from the tiers): the loop runs an iteration. */
    private record Wake<R>() implements Command<R> {
    }

    /** The core closes. */
    private record Close<R>() implements Command<R> {
    }

    /** A batch's groups, and how many of the current one wait. */
    static final class BatchFeed<R> {
        final List<List<R>> groups;
        int next;
        int waiting;

        BatchFeed(List<List<R>> groups) {
            this.groups = groups;
        }
    }

    /** A fault that leaves the engine unusable, found while handling another: the loop fails the core. */
    private static final class FatalFault extends RuntimeException {
        private static final long serialVersionUID = 1L;

        FatalFault(Throwable cause) {
            super(cause);
        }
    }
}
