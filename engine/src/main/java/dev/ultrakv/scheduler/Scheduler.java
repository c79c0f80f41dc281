package dev.ultrakv.scheduler;

import dev.ultrakv.kvcache.KvCacheManager;
import dev.ultrakv.kvcache.tier.TierLoad;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.IdentityHashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;

/**
 * Decides what each step of continuous batching runs: the next token of every running sequence, chunks of the
 * prompts still being prefilled, and as many waiting requests as the step's rows, the running limit and the KV
 * cache allow. It asks the {@link KvCacheManager} for cached prefixes and blocks, and preempts when the cache
 * runs dry; it never runs the model (the {@link StepExecutor} does), so it is tested with a fake {@link Ticker}
 * and no model.
 *
 * <pre>{@code
 * scheduler.add(sequence);                  // waits
 * StepPlan plan = scheduler.schedule();     // rows of this step
 * executor.run(plan);                       // one forward pass
 * scheduler.completeStep(plan);             // their K/V are written
 * // for each sequence that samplesThisStep(): append(token) or finish(sequence)
 * }</pre>
 *
 * <h2>Notes</h2>
 * <b>A step.</b> Running sequences are served most urgent first, decode tokens before prompt chunks: a running
 * sequence's next token waits for no prefill (time per output token stays flat while prompts arrive), and the
 * running limit is at most the step's rows, so every decode fits. Prompt chunks take what rows are left, then
 * waiting requests are admitted with chunks of their own (chunked prefill, as vLLM and Sarathi-Serve do).
 *
 * <p><b>Order of admission.</b> By effective priority (the priority given, raised one level per
 * {@link SchedulerConfig#ageingInterval()} spent waiting since arrival, down to 0), so a request of any priority
 * is served in bounded time; within an effective priority the longest cached prefix first (SGLang's cache-aware
 * scheduling: its prefix is hot now and may be evicted later), then arrival. Ranking needs a prefix lookup per
 * request, so only a window of the {@value #RANKING_WINDOW} most urgent requests is ranked per step. Admission
 * stops at the first request that does not fit: smaller requests behind it do not overtake it, so it cannot
 * starve.
 *
 * <p><b>Memory.</b> A request is admitted when the cache can give the blocks of its tokens beyond its cached
 * prefix, keeping {@value #WATERMARK_FRACTION} of the pool for the running sequences to grow (vLLM's watermark);
 * running sequences then take a block at a time as they grow. When a block cannot be had, the least urgent
 * running sequence is preempted (the newest of the lowest effective priority), possibly the one that needs the
 * block; a waiting request more urgent than some running one preempts those too. A preempted sequence gives its
 * computed tokens to the prefix cache and waits again with its generated tokens (recompute, as vLLM v1): when
 * admitted again it recomputes only what was evicted meanwhile, and since the kernels are batch-invariant its
 * greedy output does not change. The most urgent running sequence can always grow, by preempting all the others
 * (the engine admits no request larger than the cache less one block), so no deadlock: someone always progresses.
 *
 * <p><b>Requests sharing an uncached prefix.</b> A waiting request whose prompt begins like a running
 * sequence's, beyond its own cached prefix, waits for that sequence to finish and cache it, rather than
 * computing the same keys and values beside it (SGLang's in-batch prefix caching): when the running sequence
 * holds its whole prompt and is at least as urgent (a repeated request is then a cache hit under batching as it
 * would be alone, having waited at most one generation), or when it saves {@value #SHARED_PREFIX_WAIT_TOKENS}
 * tokens or more and is done in no more steps than tokens it saves (a group with a common system prompt
 * prefills it once). Once the running sequence is done the waiting one's prefix is cached: it waits once.
 *
 * <p><b>Loading from the tiers.</b> When the cache has tiers (disk, Redis) and a request's memory-resident prefix
 * ends before its last full block, its first admission attempt asks the tiers for the blocks after that prefix and
 * the request leaves the queue for the <i>loading</i> state: it holds no block and the step loop does not wait for
 * it (vLLM's KV connector loads the same way). When the load is done, or after the tiers' load timeout, the
 * cache brings what was found into memory and the request waits for admission again, where it finds those blocks
 * cached; what was not found it computes. The tiers are asked once per admission, not once per step.
 *
 * <p>Not thread-safe: the engine's step loop owns it, with the cache.
 *
 * @param <S> the sequences it schedules: the engine's own type, so that what it hands back needs no cast
 */
public final class Scheduler<S extends SequenceState> {
    /** Priority levels: 0 (CRITICAL) to 4 (BACKGROUND), as {@code dev.ultrakv.Priority}. */
    public static final int PRIORITY_LEVELS = 5;
    /** Waiting requests ranked by cached prefix per step: each costs a prefix lookup of about a microsecond. */
    static final int RANKING_WINDOW = 64;
    /** Uncached shared tokens worth waiting for a running sequence to cache: one block at the default size. */
    static final int SHARED_PREFIX_WAIT_TOKENS = 16;
    /** Fraction of the pool an admission leaves for running sequences to grow into (vLLM keeps 1%). */
    static final double WATERMARK_FRACTION = 0.01;

    private final KvCacheManager cache;
    private final SchedulerConfig config;
    private final Ticker ticker;
    private final long ageingNanos;
    private final int watermarkBlocks;
    /** Waiting sequences per priority level, oldest first. */
    private final List<TreeSet<S>> waiting = new ArrayList<>(PRIORITY_LEVELS);
    private int waitingCount;
    private final List<S> running = new ArrayList<>();
    /** Sequences waiting for their blocks from the tiers, in the order their loads started. */
    private final List<S> loading = new ArrayList<>();
    /** Called, on a tier's thread, when a load is done: the engine wakes its loop. */
    private Runnable onLoadDone = () -> {
    };
    private long step;
    private long preemptions;

    /**
     * @param cache  the KV cache the sequences run in; the scheduler's caller owns both
     * @param config the limits: rows per step, running sequences, ageing
     * @param ticker the time that waiting requests age by
     */
    public Scheduler(KvCacheManager cache, SchedulerConfig config, Ticker ticker) {
        this.cache = Objects.requireNonNull(cache, "cache");
        this.config = Objects.requireNonNull(config, "config");
        this.ticker = Objects.requireNonNull(ticker, "ticker");
        this.ageingNanos = config.ageingInterval().toNanos();
        this.watermarkBlocks = (int) (cache.totalBlocks() * WATERMARK_FRACTION);
        Comparator<S> oldestFirst = Comparator.comparingLong(S::arrivalNanos)
                .thenComparingLong(S::order);
        for (int level = 0; level < PRIORITY_LEVELS; level++) {
            waiting.add(new TreeSet<>(oldestFirst));
        }
    }

    /**
     * Queues a new sequence for admission.
     *
     * @throws IllegalArgumentException if its priority is not 0 to 4
     * @throws IllegalStateException    if it was added before
     */
    public void add(S sequence) {
        if (sequence.status() != SequenceState.Status.NEW) {
            throw new IllegalStateException("the sequence was added before: " + sequence);
        }
        if (sequence.priority() < 0 || sequence.priority() >= PRIORITY_LEVELS) {
            throw new IllegalArgumentException("priority " + sequence.priority() + " outside [0, "
                    + (PRIORITY_LEVELS - 1) + "]");
        }
        enqueue(sequence);
    }

    /** Sequences waiting for admission, those loading blocks from the tiers included. */
    public int waitingCount() {
        return waitingCount + loading.size();
    }

    /** Sequences waiting for their blocks from the tiers. */
    public int loadingCount() {
        return loading.size();
    }

    /**
     * Sets what runs when a load from the tiers is done: it runs on the tier's thread, so it should only wake the
     * step loop (which then calls {@link #schedule()}).
     */
    public void onLoadDone(Runnable action) {
        this.onLoadDone = Objects.requireNonNull(action, "action");
    }

    /** Sequences running. */
    public int runningCount() {
        return running.size();
    }

    /** The running sequences (a copy). */
    public List<S> running() {
        return List.copyOf(running);
    }

    /** Preemptions so far. */
    public long preemptions() {
        return preemptions;
    }

    /** Steps scheduled so far. */
    public long steps() {
        return step;
    }

    /** The priority {@code sequence} is served at {@code now}: its own, one level better per ageing interval. */
    public int effectivePriority(S sequence, long now) {
        long age = Math.max(0, now - sequence.arrivalNanos());
        return (int) Math.max(0, sequence.priority() - age / ageingNanos);
    }

    /**
     * Decides the next step: grows or preempts running sequences, admits waiting ones, and gives each a number of
     * rows. Every running sequence must have a row to run (a token appended since its last sample).
     */
    public StepPlan<S> schedule() {
        step++;
        long now = ticker.read();
        Comparator<S> urgency = urgency(now);
        Step<S> b = new Step<>(config.stepTokens());
        List<S> byUrgency = new ArrayList<>(running);
        byUrgency.sort(urgency);
        for (S s : byUrgency) {
            int pending = s.length() - s.computed();
            if (pending <= 0) {
                throw new IllegalStateException("a running sequence has no row to run; append a token or finish"
                        + " it: " + s);
            }
            if (pending == 1 && s.status() == SequenceState.Status.RUNNING) {
                scheduleRunning(s, b, urgency);
            }
        }
        for (S s : byUrgency) {
            if (s.status() == SequenceState.Status.RUNNING && s.scheduledRows == 0 && b.budget > 0) {
                scheduleRunning(s, b, urgency);
            }
        }
        promoteLoaded(now, b);
        admit(b, now, urgency);
        return new StepPlan<>(step, List.copyOf(b.batch), b.rows, List.copyOf(b.admitted), List.copyOf(b.preempted),
                List.copyOf(b.refused), List.copyOf(b.failed));
    }

    /**
     * Records that the step's rows ran: their keys and values are written. Gives the cache the blocks a sliding
     * window has passed, and compacts (when the cache compresses) every sequence whose rows reached its last
     * token, which are those that sample now.
     *
     * @return the sequences whose window or compaction threw: each is dropped (as {@link #abort}) and the caller
     *         fails it
     */
    public List<StepPlan.Failure<S>> completeStep(StepPlan<S> plan) {
        List<StepPlan.Failure<S>> failed = new ArrayList<>();
        for (S s : plan.batch()) {
            if (s.status() == SequenceState.Status.RUNNING && s.scheduledRows > 0) {
                s.cacheSequence().commitPass();
                s.computedRows();
                try {
                    cache.slideWindow(s.cacheSequence(), s.tokenArray(), s.computed());
                    if (s.computed() == s.length()) {
                        cache.compact(s.cacheSequence());
                    }
                } catch (RuntimeException e) {
                    abort(s);
                    failed.add(new StepPlan.Failure<>(s, e));
                }
            }
        }
        return failed;
    }

    /**
     * Forgets the rows of a step whose forward pass failed: nothing of it counts as computed, so each of its
     * sequences still running runs those rows again in a later step.
     */
    public void stepFailed(StepPlan<S> plan) {
        for (S s : plan.batch()) {
            rewind(s);
            s.scheduledRows = 0;
        }
    }

    /**
     * Forgets what a failed forward pass wrote of a running sequence's scheduled rows, so that they can be run
     * again (alone, to find which sequence failed it, or in a later step).
     */
    public void rewind(S s) {
        if (s.status() == SequenceState.Status.RUNNING) {
            s.cacheSequence().discardFrom(s.computed());
        }
    }

    /**
     * Ends a running sequence that is done: its computed tokens go to the prefix cache for later requests.
     *
     * @throws IllegalStateException if it is not running
     */
    public void finish(S sequence) {
        if (sequence.status() != SequenceState.Status.RUNNING) {
            throw new IllegalStateException("only a running sequence can finish: " + sequence);
        }
        cache.release(sequence.cacheSequence(), sequence.tokenArray(), sequence.computed());
        running.remove(sequence);
        sequence.done();
    }

    /**
     * Drops a sequence wherever it is (cancelled, past its deadline, failed), freeing its blocks now without
     * caching them. Does nothing for a sequence already done.
     */
    public void abort(S sequence) {
        switch (sequence.status()) {
            case WAITING -> dequeue(sequence);
            case LOADING -> loading.remove(sequence);
            case RUNNING -> {
                cache.abort(sequence.cacheSequence());
                running.remove(sequence);
            }
            case NEW, DONE -> {
            }
        }
        sequence.done();
    }

    /** Aborts every running sequence (their state is in doubt after a fault) and returns them. */
    public List<S> abortRunning() {
        List<S> all = new ArrayList<>(running);
        all.forEach(this::abort);
        return all;
    }

    /** Aborts every waiting and running sequence (the engine closes) and returns them. */
    public List<S> abortAll() {
        List<S> all = new ArrayList<>(running);
        all.addAll(loading);
        for (TreeSet<S> level : waiting) {
            all.addAll(level);
        }
        all.forEach(this::abort);
        return all;
    }

    /** Most urgent first: effective priority, then arrival. */
    private Comparator<S> urgency(long now) {
        return Comparator.<S>comparingInt(s -> effectivePriority(s, now))
                .thenComparingLong(S::arrivalNanos).thenComparingLong(S::order);
    }

    /** Gives a running sequence its rows, growing its store; preempts the least urgent when the pool is dry. */
    private void scheduleRunning(S s, Step<S> b, Comparator<S> urgency) {
        int rows = Math.min(s.length() - s.computed(), b.budget);
        if (rows == 0) {
            return;
        }
        try {
            while (!cache.allocateSlots(s.cacheSequence(), s.computed() + rows)) {
                S victim = Collections.max(running, urgency);
                preempt(victim, b);
                if (victim == s) {
                    return;
                }
            }
        } catch (RuntimeException e) {
            drop(s, e, b);
            return;
        }
        b.add(s, rows);
    }

    private void admit(Step<S> b, long now, Comparator<S> urgency) {
        Set<S> considered = Collections.newSetFromMap(new IdentityHashMap<>());
        while (b.budget > 0 && waitingCount > 0) {
            List<S> window = rankedWindow(now, considered);
            if (window.isEmpty()) {
                return;
            }
            for (S c : window) {
                considered.add(c);
                if (b.budget == 0) {
                    return;
                }
                int level = effectivePriority(c, now);
                if (c.preemptedInStep == step || waitsForSharedPrefix(c, level, now)) {
                    continue;
                }
                if (!c.tiersAsked && startLoad(c, now, b)) {
                    continue;
                }
                if (!makeRunningRoom(level, now, urgency, b)) {
                    return;
                }
                KvCacheManager.Sequence sequence;
                try {
                    sequence = acquire(c, level, now, urgency, b);
                } catch (RuntimeException e) {
                    drop(c, e, b);
                    continue;
                }
                if (sequence == null) {
                    if (!running.isEmpty()) {
                        return;
                    }
                    dequeue(c);
                    c.done();
                    b.refused.add(c);
                    continue;
                }
                dequeue(c);
                c.admitted(sequence);
                running.add(c);
                b.admitted.add(c);
                b.add(c, Math.min(c.length() - c.computed(), b.budget));
            }
        }
    }

    /**
     * Asks the tiers for {@code c}'s blocks after its memory-resident prefix, if there are any to ask for; {@code c}
     * then leaves the queue and loads.
     *
     * @return whether {@code c} now loads (or was dropped because asking threw)
     */
    private boolean startLoad(S c, long now, Step<S> b) {
        c.tiersAsked = true;
        TierLoad load;
        try {
            load = cache.startLoad(c.tokenArray(), c.length(), now);
        } catch (RuntimeException e) {
            drop(c, e, b);
            return true;
        }
        if (load == null) {
            return false;
        }
        dequeue(c);
        c.loading(load);
        loading.add(c);
        load.whenDone(onLoadDone);
        return true;
    }

    /**
     * Brings the blocks of every finished (or timed out) load into memory and queues its sequence for admission
     * again; one whose promotion throws fails alone.
     */
    private void promoteLoaded(long now, Step<S> b) {
        if (loading.isEmpty()) {
            return;
        }
        long timeout = cache.tiers().loadTimeoutNanos();
        for (S s : List.copyOf(loading)) {
            TierLoad load = s.tierLoad;
            if (!load.isDone() && now - load.startNanos() < timeout) {
                continue;
            }
            loading.remove(s);
            try {
                cache.promote(load, s.tokenArray(), s.length());
            } catch (RuntimeException e) {
                s.done();
                b.failed.add(new StepPlan.Failure<>(s, e));
                continue;
            }
            enqueue(s);
        }
    }

    /**
     * Starts {@code c}'s sequence in the cache, preempting less urgent ones while its blocks cannot be had.
     *
     * @return the sequence, or null if its blocks cannot be had now
     */
    private KvCacheManager.Sequence acquire(S c, int level, long now, Comparator<S> urgency,
                                            Step<S> b) {
        int[] tokens = Arrays.copyOf(c.tokenArray(), c.length());
        KvCacheManager.Sequence sequence = cache.tryAcquire(tokens, running.isEmpty() ? 0 : watermarkBlocks);
        while (sequence == null && preemptLessUrgent(level, now, urgency, b)) {
            sequence = cache.tryAcquire(tokens, running.isEmpty() ? 0 : watermarkBlocks);
        }
        return sequence;
    }

    /**
     * Drops a sequence whose admission or growth threw: its fault is its own (its tokens, its blocks), so it
     * alone fails and the step goes on without it.
     */
    private void drop(S s, RuntimeException cause, Step<S> b) {
        abort(s);
        b.remove(s);
        b.failed.add(new StepPlan.Failure<>(s, cause));
    }

    /** Frees a running slot for a request of effective priority {@code level}, or says it cannot. */
    private boolean makeRunningRoom(int level, long now, Comparator<S> urgency, Step<S> b) {
        while (running.size() >= config.maxRunningSequences()) {
            if (!preemptLessUrgent(level, now, urgency, b)) {
                return false;
            }
        }
        return true;
    }

    /** Preempts the least urgent running sequence if its effective priority is below {@code level}. */
    private boolean preemptLessUrgent(int level, long now, Comparator<S> urgency, Step<S> b) {
        if (running.isEmpty()) {
            return false;
        }
        S victim = Collections.max(running, urgency);
        if (effectivePriority(victim, now) <= level) {
            return false;
        }
        preempt(victim, b);
        return true;
    }

    private void preempt(S victim, Step<S> b) {
        cache.preempt(victim.cacheSequence(), victim.tokenArray(), victim.computed());
        running.remove(victim);
        b.remove(victim);
        victim.preempted(step);
        enqueue(victim);
        preemptions++;
        b.preempted.add(victim);
    }

    /**
     * The next {@value #RANKING_WINDOW} waiting sequences not yet considered in this step, by effective priority
     * then arrival, re-ranked by cached prefix within each effective priority.
     */
    private List<S> rankedWindow(long now, Set<S> considered) {
        List<S> window = new ArrayList<>(RANKING_WINDOW);
        List<Iterator<S>> levels = new ArrayList<>(PRIORITY_LEVELS);
        List<S> heads = new ArrayList<>(PRIORITY_LEVELS);
        for (int level = 0; level < PRIORITY_LEVELS; level++) {
            levels.add(waiting.get(level).iterator());
            heads.add(nextUnconsidered(levels.get(level), considered));
        }
        Comparator<S> urgency = urgency(now);
        while (window.size() < RANKING_WINDOW) {
            int best = -1;
            for (int level = 0; level < PRIORITY_LEVELS; level++) {
                if (heads.get(level) != null && (best < 0 || urgency.compare(heads.get(level), heads.get(best)) < 0)) {
                    best = level;
                }
            }
            if (best < 0) {
                break;
            }
            window.add(heads.get(best));
            heads.set(best, nextUnconsidered(levels.get(best), considered));
        }
        for (S s : window) {
            s.rankedCachedTokens = cache.cachedPrefixTokens(Arrays.copyOf(s.tokenArray(), s.length()));
        }
        window.sort(Comparator.<S>comparingInt(s -> effectivePriority(s, now))
                .thenComparing(Comparator.<S>comparingInt(s -> s.rankedCachedTokens).reversed())
                .thenComparing(urgency));
        return window;
    }

    private static <T> T nextUnconsidered(Iterator<T> it, Set<T> considered) {
        while (it.hasNext()) {
            T s = it.next();
            if (!considered.contains(s)) {
                return s;
            }
        }
        return null;
    }

    /** Whether {@code c} should wait for a running sequence to cache the prefix they share (see the notes). */
    private boolean waitsForSharedPrefix(S c, int level, long now) {
        int[] tokens = c.tokenArray();
        for (S r : running) {
            int mismatch = Arrays.mismatch(tokens, 0, c.length(), r.tokenArray(), 0, r.length());
            int common = mismatch < 0 ? c.length() : mismatch;
            int gain = common - c.rankedCachedTokens;
            if (gain <= 0) {
                continue;
            }
            if (common == c.length() && effectivePriority(r, now) <= level) {
                return true;
            }
            if ((common == c.length() || gain >= SHARED_PREFIX_WAIT_TOKENS)
                    && r.remainingSteps(config.stepTokens()) <= gain) {
                return true;
            }
        }
        return false;
    }

    private void enqueue(S s) {
        s.waiting();
        waiting.get(s.priority()).add(s);
        waitingCount++;
    }

    private void dequeue(S s) {
        if (waiting.get(s.priority()).remove(s)) {
            waitingCount--;
        }
    }

    /** The step being built: its batch and what is left of its rows. */
    private static final class Step<S extends SequenceState> {
        final List<S> batch = new ArrayList<>();
        final List<S> admitted = new ArrayList<>();
        final List<S> preempted = new ArrayList<>();
        final List<S> refused = new ArrayList<>();
        final List<StepPlan.Failure<S>> failed = new ArrayList<>();
        int budget;
        int rows;

        Step(int budget) {
            this.budget = budget;
        }

        void add(S s, int count) {
            s.scheduledRows = count;
            batch.add(s);
            budget -= count;
            rows += count;
        }

        void remove(S s) {
            if (s.scheduledRows > 0) {
                batch.remove(s);
                budget += s.scheduledRows;
                rows -= s.scheduledRows;
                s.scheduledRows = 0;
            }
        }
    }
}
