package dev.ultrakv;

import dev.ultrakv.sampling.SamplingParams;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * A text to continue, with how urgent it is and how to sample. Immutable. The engine checks the values when the
 * request is submitted and fails its future with an {@link IllegalArgumentException} naming the bad one, so a
 * request can be built from untrusted input without throwing here.
 *
 * <pre>{@code
 * Request.of("Once upon a time", 1);
 * Request.builder().text("Once upon a time").priority(Priority.HIGH).maxNewTokens(64)
 *         .temperature(0.8f).topP(0.9f).seed(42).id("story-1").timeout(Duration.ofSeconds(30))
 *         .stop(List.of("\n\n")).logprobs(3).build();
 * }</pre>
 *
 * <p>The sampling settings are those of the OpenAI API and llama.cpp (see {@link SamplingParams}); stop strings
 * end the generation where one appears in the text, which then ends before it.
 */
public final class Request {
    /** Tokens generated unless asked otherwise: a short answer, cheap enough for tests and demos. */
    public static final int DEFAULT_MAX_NEW_TOKENS = 32;
    /** Greedy decoding unless asked otherwise, so that the same request gives the same text. */
    public static final float DEFAULT_TEMPERATURE = 0f;
    /** Seed of the sampler unless asked otherwise (used only at a temperature above 0). */
    public static final long DEFAULT_SEED = 42;
    /** Most stop strings a request may carry: each is looked for after every token. */
    public static final int MAX_STOP_STRINGS = 16;
    /** Longest stop string, in characters. */
    public static final int MAX_STOP_LENGTH = 256;
    /** Most alternatives per token a request may ask the log-probabilities of (OpenAI's bound). */
    public static final int MAX_TOP_LOGPROBS = 20;
    /** {@link #logprobs()} when no log-probabilities are asked for. */
    public static final int NO_LOGPROBS = -1;

    private final String id;
    private final String text;
    /** The prompt as token ids, when given so instead of as text; null otherwise. */
    private final int[] promptTokens;
    private final int priority;
    private final int maxNewTokens;
    private final float temperature;
    private final long seed;
    private final Duration timeout;
    private final float topP;
    private final int topK;
    private final float minP;
    private final float presencePenalty;
    private final float frequencyPenalty;
    private final List<String> stop;
    private final int logprobs;
    private final boolean ignoreEos;

    private Request(Builder b) {
        this.id = b.id;
        this.promptTokens = b.promptTokens == null ? null : b.promptTokens.clone();
        this.text = b.promptTokens != null && b.text == null ? "" : Objects.requireNonNull(b.text, "text");
        this.priority = b.priority;
        this.maxNewTokens = b.maxNewTokens;
        this.temperature = b.temperature;
        this.seed = b.seed;
        this.timeout = b.timeout;
        this.topP = b.topP;
        this.topK = b.topK;
        this.minP = b.minP;
        this.presencePenalty = b.presencePenalty;
        this.frequencyPenalty = b.frequencyPenalty;
        this.stop = b.stop;
        this.logprobs = b.logprobs;
        this.ignoreEos = b.ignoreEos;
    }

    /**
     * A request for {@code text} at numeric {@code priority} (0 CRITICAL to 4 BACKGROUND) with the defaults.
     * An unknown priority fails the request when it is submitted.
     */
    public static Request of(String text, int priority) {
        return builder().text(text).priority(priority).build();
    }

    /** A builder with the defaults: priority NORMAL, {@value #DEFAULT_MAX_NEW_TOKENS} new tokens, greedy. */
    public static Builder builder() {
        return new Builder();
    }

    /** The caller's id, or null: the engine then names the result {@code "request-N"}. */
    public String id() {
        return id;
    }

    /**
     * The prompt text, tokenized as {@link UltraAdaptiveKVCacheEngine#tokenizePrompt} does (BOS first where the
     * model asks for it, special-token texts read as tokens). Empty when the prompt is given as tokens.
     */
    public String text() {
        return text;
    }

    /**
     * The prompt as token ids, used as they are (BOS is not added), or null when the prompt is {@link #text()}:
     * what an OpenAI-style client sends as a token prompt, and how {@code ultrakv generate} sends run.c's prompt.
     */
    public int[] promptTokens() {
        return promptTokens == null ? null : promptTokens.clone();
    }

    /** The numeric priority as given (valid values 0 to 4, see {@link Priority}). */
    public int priority() {
        return priority;
    }

    /** The most tokens to generate; must be at least 1. */
    public int maxNewTokens() {
        return maxNewTokens;
    }

    /** Sampling temperature: 0 for greedy decoding. */
    public float temperature() {
        return temperature;
    }

    /** Seed of the sampler's random numbers. */
    public long seed() {
        return seed;
    }

    /**
     * The request's deadline, counted from its submission: if it has not finished by then, it is stopped, its KV
     * blocks are freed and its future fails with a {@link java.util.concurrent.TimeoutException}. Null for none.
     */
    public Duration timeout() {
        return timeout;
    }

    /** The sampling settings: temperature, top-p, top-k, min-p and the two penalties. */
    public SamplingParams sampling() {
        return new SamplingParams(temperature, topP, topK, minP, presencePenalty, frequencyPenalty);
    }

    /**
     * Whether the generation goes on through the tokens that would end it (end of sequence, end of turn, a BOS)
     * until {@link #maxNewTokens()}, a stop string or the context ends it: those tokens are never sampled, as
     * llama.cpp's and vLLM's {@code ignore_eos} do. Benchmarks use it to generate a fixed number of tokens.
     */
    public boolean ignoreEos() {
        return ignoreEos;
    }

    /** Strings that end the generation where one appears; the text ends before it. Empty for none. */
    public List<String> stop() {
        return stop;
    }

    /**
     * How many most likely alternatives to report with each generated token's log-probability, 0 to
     * {@value #MAX_TOP_LOGPROBS}; {@value #NO_LOGPROBS} (the default) for no log-probabilities.
     */
    public int logprobs() {
        return logprobs;
    }

    @Override
    public String toString() {
        return "Request[" + (id != null ? id + ", " : "") + "priority " + priority + ", maxNewTokens "
                + maxNewTokens + ", temperature " + temperature + (timeout != null ? ", timeout " + timeout : "")
                + ", " + (promptTokens != null ? promptTokens.length + " prompt tokens" : text.length() + " chars") + "]";
    }

    /** Builds a {@link Request}. */
    public static final class Builder {
        private String id;
        private String text;
        private int[] promptTokens;
        private int priority = Priority.NORMAL.value();
        private int maxNewTokens = DEFAULT_MAX_NEW_TOKENS;
        private float temperature = DEFAULT_TEMPERATURE;
        private long seed = DEFAULT_SEED;
        private Duration timeout;
        private float topP;
        private int topK;
        private float minP;
        private float presencePenalty;
        private float frequencyPenalty;
        private List<String> stop = List.of();
        private int logprobs = NO_LOGPROBS;
        private boolean ignoreEos;

        private Builder() {
        }

        /** Nucleus sampling: the smallest set of tokens whose probability exceeds {@code topP}; 0 or 1 is off. */
        public Builder topP(float topP) {
            this.topP = topP;
            return this;
        }

        /** Sample among the {@code topK} most likely tokens only; 0 (the default) is off. */
        public Builder topK(int topK) {
            this.topK = topK;
            return this;
        }

        /** Drop tokens less likely than {@code minP} times the most likely one; 0 (the default) is off. */
        public Builder minP(float minP) {
            this.minP = minP;
            return this;
        }

        /** Subtracted from the logit of every token already generated, in [-2, 2]; 0 by default. */
        public Builder presencePenalty(float presencePenalty) {
            this.presencePenalty = presencePenalty;
            return this;
        }

        /** Subtracted from a token's logit once per time it was generated, in [-2, 2]; 0 by default. */
        public Builder frequencyPenalty(float frequencyPenalty) {
            this.frequencyPenalty = frequencyPenalty;
            return this;
        }

        /** Generate through end-of-generation tokens (see {@link Request#ignoreEos()}); false by default. */
        public Builder ignoreEos(boolean ignoreEos) {
            this.ignoreEos = ignoreEos;
            return this;
        }

        /**
         * Strings that end the generation (at most {@value Request#MAX_STOP_STRINGS}, each 1 to
         * {@value Request#MAX_STOP_LENGTH} characters); the result's text ends before the one found.
         */
        public Builder stop(List<String> stop) {
            // Copied as given, nulls included: the engine names a bad one when the request is submitted.
            this.stop = stop == null ? List.of() : Collections.unmodifiableList(new ArrayList<>(stop));
            return this;
        }

        /**
         * Report each generated token's log-probability with its {@code topAlternatives} most likely
         * alternatives (0 to {@value Request#MAX_TOP_LOGPROBS}); {@value Request#NO_LOGPROBS} turns it off.
         */
        public Builder logprobs(int topAlternatives) {
            this.logprobs = topAlternatives;
            return this;
        }

        /** The prompt text (required unless the prompt is given as {@link #promptTokens tokens}). */
        public Builder text(String text) {
            this.text = text;
            return this;
        }

        /**
         * The prompt as token ids of the model's vocabulary, used as they are (BOS is not added), instead of
         * {@link #text}; at least one.
         */
        public Builder promptTokens(int[] promptTokens) {
            this.promptTokens = promptTokens;
            return this;
        }

        /** The numeric priority, 0 (CRITICAL) to 4 (BACKGROUND). */
        public Builder priority(int priority) {
            this.priority = priority;
            return this;
        }

        /** The priority. */
        public Builder priority(Priority priority) {
            this.priority = priority.value();
            return this;
        }

        /** The most tokens to generate, at least 1. */
        public Builder maxNewTokens(int maxNewTokens) {
            this.maxNewTokens = maxNewTokens;
            return this;
        }

        /** Sampling temperature; 0 (the default) is greedy. */
        public Builder temperature(float temperature) {
            this.temperature = temperature;
            return this;
        }

        /** Seed of the sampler. */
        public Builder seed(long seed) {
            this.seed = seed;
            return this;
        }

        /** The deadline after submission, positive; null (the default) for none. */
        public Builder timeout(Duration timeout) {
            this.timeout = timeout;
            return this;
        }

        /** An id to find the result by; null lets the engine choose one. */
        public Builder id(String id) {
            this.id = id;
            return this;
        }

        /**
         * The request.
         *
         * @throws NullPointerException if neither text nor prompt tokens were given
         */
        public Request build() {
            return new Request(this);
        }
    }
}
