package dev.ultrakv.scheduler;

import dev.ultrakv.kvcache.KvCacheManager;
import dev.ultrakv.kvcache.KvStore;
import dev.ultrakv.kvcache.tier.TierLoad;

import java.util.Arrays;
import java.util.Objects;

/**
 * One request's way through the scheduler: its tokens (the prompt, then those generated), how many of them have
 * their keys and values written, its priority and arrival, and while it runs its sequence in the KV cache. The
 * engine extends it with what answering the request needs (sampler, future, listener).
 *
 * <pre>
 * tokens   | prompt .................................. | generated ............ |
 *          0                              computed ^                  length ^
 *          K/V written or cached                     rows still to run: [computed, length)
 * </pre>
 *
 * A running sequence in decode has one row left, its last sampled token; one in prefill has the rest of its
 * prompt. A preempted sequence keeps its tokens and waits again from {@code computed = 0}; admitted again, its
 * prefix cache match tells how much it must recompute.
 *
 * <p>Not thread-safe: the step loop owns it.
 */
public class SequenceState {
    /** Where a sequence is. */
    public enum Status {
        /** Not yet added to a scheduler. */
        NEW,
        /** Waiting for admission (first, or again after a preemption). */
        WAITING,
        /**
         * Waiting for the blocks after its memory-resident prefix from the KV tiers (disk, Redis); holds no block.
         * Once they are in memory it waits for admission again, and then finds them cached.
         */
        LOADING,
        /** Holding KV blocks and a row in each step. */
        RUNNING,
        /** Finished or aborted; holds nothing. */
        DONE
    }

    private final long order;
    private final int priority;
    private final long arrivalNanos;
    private final int promptTokens;
    private final int maxNewTokens;
    private final int[] tokens;
    private int length;
    private int computed;
    private Status status = Status.NEW;
    private KvCacheManager.Sequence cacheSequence;
    private int cachedPromptTokens;
    private int admissions;
    private int preemptions;
    /** Rows of the current step: {@code [computed, computed + scheduledRows)}; 0 when not in it. */
    int scheduledRows;
    /** The step in which the sequence was last preempted: it is not admitted again in that step. */
    long preemptedInStep = -1;
    /** Tokens of the longest cached prefix, as ranked in the current admission window. */
    int rankedCachedTokens;
    /** Whether the KV tiers were asked for this admission's blocks: once per admission, not per step. */
    boolean tiersAsked;
    /** The blocks being loaded from the tiers while {@link Status#LOADING}; null otherwise. */
    TierLoad tierLoad;

    /**
     * @param order        submission order: among equals the earlier is served first
     * @param priority     0 (most urgent) to 4
     * @param arrivalNanos when the request arrived, on the scheduler's {@link Ticker}: waiting ages from it
     * @param prompt       the prompt's tokens, at least one
     * @param maxNewTokens tokens the sequence may generate, at least 1, already capped at the model's context
     */
    public SequenceState(long order, int priority, long arrivalNanos, int[] prompt, int maxNewTokens) {
        Objects.requireNonNull(prompt, "prompt");
        if (prompt.length == 0 || maxNewTokens < 1) {
            throw new IllegalArgumentException("a sequence needs a prompt and maxNewTokens >= 1: " + prompt.length
                    + " prompt tokens, maxNewTokens " + maxNewTokens);
        }
        this.order = order;
        this.priority = priority;
        this.arrivalNanos = arrivalNanos;
        this.promptTokens = prompt.length;
        this.maxNewTokens = maxNewTokens;
        this.tokens = Arrays.copyOf(prompt, prompt.length + maxNewTokens);
        this.length = prompt.length;
    }

    /** Submission order. */
    public long order() {
        return order;
    }

    /** The priority given, 0 (most urgent) to 4. */
    public int priority() {
        return priority;
    }

    /** Arrival on the scheduler's ticker. */
    public long arrivalNanos() {
        return arrivalNanos;
    }

    /** Tokens of the prompt. */
    public int promptTokens() {
        return promptTokens;
    }

    /** The most tokens the sequence may generate. */
    public int maxNewTokens() {
        return maxNewTokens;
    }

    /** Tokens so far: prompt and generated. */
    public int length() {
        return length;
    }

    /** The {@code index}-th token. */
    public int token(int index) {
        Objects.checkIndex(index, length);
        return tokens[index];
    }

    /** Tokens generated so far. */
    public int generated() {
        return length - promptTokens;
    }

    /** A copy of the generated tokens. */
    public int[] generatedTokens() {
        return Arrays.copyOfRange(tokens, promptTokens, length);
    }

    /** Positions whose keys and values are in the sequence's store (0 while it waits). */
    public int computed() {
        return computed;
    }

    /** Where the sequence is. */
    public Status status() {
        return status;
    }

    /** Prompt tokens found cached when the request was first admitted (0 before). */
    public int cachedPromptTokens() {
        return cachedPromptTokens;
    }

    /** Times the sequence was admitted: 1 plus its preemptions once it runs. */
    public int admissions() {
        return admissions;
    }

    /** Times the sequence was preempted. */
    public int preemptions() {
        return preemptions;
    }

    /** Rows the current step runs for this sequence (0 if none). */
    public int scheduledRows() {
        return scheduledRows;
    }

    /** Whether the current step's rows reach the last token, so that the step gives logits to sample from. */
    public boolean samplesThisStep() {
        return scheduledRows > 0 && computed + scheduledRows == length;
    }

    /** The store the model reads and writes this sequence's keys and values through; running sequences only. */
    public KvStore store() {
        return cacheSequence().store();
    }

    /** The sequence's place in the KV cache; running sequences only. */
    public KvCacheManager.Sequence cacheSequence() {
        if (cacheSequence == null) {
            throw new IllegalStateException("the sequence holds no cache sequence: " + status);
        }
        return cacheSequence;
    }

    /**
     * Appends a sampled token: the next step runs it.
     *
     * @throws IllegalStateException if the sequence is not running with all its rows computed, or has generated
     *                               {@link #maxNewTokens()} already
     */
    public void append(int token) {
        if (status != Status.RUNNING || computed != length) {
            throw new IllegalStateException("append needs a running sequence with every row computed: " + this);
        }
        if (generated() == maxNewTokens) {
            throw new IllegalStateException("the sequence has generated its " + maxNewTokens + " tokens already");
        }
        tokens[length++] = token;
    }

    /**
     * Steps until the sequence is done at most: its remaining prompt chunks of {@code stepTokens}, then one step
     * per token it may still generate after the first.
     */
    int remainingSteps(int stepTokens) {
        return Math.ceilDiv(Math.max(1, length - computed), stepTokens) + maxNewTokens - generated() - 1;
    }

    /** The token array itself (for the cache, which reads the first {@code computed} positions). */
    int[] tokenArray() {
        return tokens;
    }

    void loading(TierLoad load) {
        status = Status.LOADING;
        tierLoad = load;
    }

    void waiting() {
        status = Status.WAITING;
        tierLoad = null;
        cacheSequence = null;
        computed = 0;
        scheduledRows = 0;
    }

    void admitted(KvCacheManager.Sequence sequence) {
        if (admissions++ == 0) {
            cachedPromptTokens = sequence.cachedTokens();
        }
        status = Status.RUNNING;
        cacheSequence = sequence;
        computed = sequence.computeFrom();
    }

    void computedRows() {
        computed += scheduledRows;
        scheduledRows = 0;
    }

    void preempted(long step) {
        preemptions++;
        tiersAsked = false;
        preemptedInStep = step;
        waiting();
    }

    void done() {
        status = Status.DONE;
        tierLoad = null;
        cacheSequence = null;
        scheduledRows = 0;
    }

    @Override
    public String toString() {
        return "Sequence#" + order + "[" + status + ", priority " + priority + ", " + promptTokens + " prompt + "
                + generated() + " generated, computed " + computed + "]";
    }
}
