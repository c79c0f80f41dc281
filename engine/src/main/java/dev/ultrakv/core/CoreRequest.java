package dev.ultrakv.core;

import dev.ultrakv.sampling.Sampler;
import dev.ultrakv.sampling.SamplingParams;
import dev.ultrakv.sampling.TokenLogprob;
import dev.ultrakv.scheduler.SequenceState;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * One request as the {@link EngineCore} runs it: its tokens and place in the scheduler ({@link SequenceState}),
 * how to sample and stop, its deadline, and what the loop keeps while it generates. The front extends it with what
 * answering needs (a future, a listener), so the core hands back the front's own type.
 */
public class CoreRequest extends SequenceState {
    /** No log-probabilities asked for. */
    public static final int NO_LOGPROBS = -1;

    private final String id;
    private final SamplingParams sampling;
    private final long seed;
    private final List<String> stop;
    private final int logprobs;
    private final int requestedNewTokens;
    private final Duration timeout;
    private final long deadlineNanos;
    private final boolean streams;
    private final boolean ignoreEos;

    /** Made at the first sample: a sampler holds two vocabulary-sized arrays, too much for every waiter. */
    Sampler sampler;
    /** Decodes the generation for a stream or for stop strings; null when neither is asked for. */
    Detokenizer detokenizer;
    /** Log-probabilities of the generated tokens, when asked for. */
    final List<TokenLogprob> generatedLogprobs = new ArrayList<>();
    long firstTokenNanos;
    EngineCore.BatchFeed<?> feed;
    boolean fed;
    boolean awaitingAdmission = true;

    /**
     * @param id                 the request's id
     * @param order              submission order, for ties
     * @param priority           0 (most urgent) to 4
     * @param arrivalNanos       ticker time of submission
     * @param prompt             prompt tokens, BOS first
     * @param newTokens          tokens it may generate, capped at the model's context
     * @param requestedNewTokens tokens asked for (more than {@code newTokens} when the context capped them)
     * @param sampling           how to sample (checked)
     * @param seed               the sampler's seed
     * @param stop               stop strings (checked)
     * @param logprobs           alternatives per token to report, or {@link #NO_LOGPROBS}
     * @param timeout            how long after arrival it must be done; null for no deadline
     * @param streams            whether each token is told to the front ({@link CoreOutputs#token})
     * @param ignoreEos          whether the tokens that end a generation are never sampled
     *                           ({@link dev.ultrakv.Request#ignoreEos()})
     */
    public CoreRequest(String id, long order, int priority, long arrivalNanos, int[] prompt, int newTokens,
                       int requestedNewTokens, SamplingParams sampling, long seed, List<String> stop, int logprobs,
                       Duration timeout, boolean streams, boolean ignoreEos) {
        super(order, priority, arrivalNanos, prompt, newTokens);
        this.id = id;
        this.sampling = sampling;
        this.seed = seed;
        this.stop = List.copyOf(stop);
        this.logprobs = logprobs;
        this.requestedNewTokens = requestedNewTokens;
        this.timeout = timeout;
        this.deadlineNanos = deadline(arrivalNanos, timeout);
        this.streams = streams;
        this.ignoreEos = ignoreEos;
    }

    /** The request's id. */
    public String id() {
        return id;
    }

    /** Whether each generated token is told to the front. */
    public boolean streams() {
        return streams;
    }

    /** Ticker time of the first sampled token (valid once one was sampled). */
    public long firstTokenNanos() {
        return firstTokenNanos;
    }

    /** Each generated token's log-probability, when asked for (a copy). */
    public List<TokenLogprob> logprobs() {
        return List.copyOf(generatedLogprobs);
    }

    long deadlineNanos() {
        return deadlineNanos;
    }

    Duration timeout() {
        return timeout;
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

    int requestedNewTokens() {
        return requestedNewTokens;
    }

    boolean ignoresEos() {
        return ignoreEos;
    }

    int logprobsAsked() {
        return logprobs;
    }

    List<String> stop() {
        return stop;
    }

    Sampler sampler(int vocabularySize) {
        if (sampler == null) {
            sampler = new Sampler(vocabularySize, sampling, seed);
        }
        return sampler;
    }
}
