package dev.ultrakv.scheduler;

import java.time.Duration;
import java.util.Objects;

/**
 * How an engine schedules its requests: how many may wait, how many run together, how many rows one step may
 * hold and how fast waiting requests gain priority. Immutable; built and checked by {@link #builder()}.
 *
 * <pre>{@code
 * SchedulerConfig scheduling = SchedulerConfig.builder()
 *     .maxQueuedRequests(1000).maxRunningSequences(64).stepTokens(256).ageingInterval(Duration.ofSeconds(5))
 *     .build();
 * new UltraAdaptiveKVCacheEngine(cacheConfig, scheduling);
 * }</pre>
 */
public final class SchedulerConfig {
    /**
     * Requests that may wait for admission unless asked otherwise: above the 10,000 requests the seed's workloads
     * submit at once, and a few megabytes of tokenized prompts at most.
     */
    public static final int DEFAULT_MAX_QUEUED_REQUESTS = 16_384;
    /**
     * Rows per step unless asked otherwise: the model's prefill chunk ({@code LlamaModel.DEFAULT_PREFILL_CHUNK}),
     * where the matmul kernels are compute-bound.
     */
    public static final int DEFAULT_STEP_TOKENS = 256;
    /**
     * Sequences running together unless asked otherwise (or the step's rows, if fewer): half the default step, so
     * that a step whose running sequences all decode still has room for prompt chunks; beyond it the CPU is
     * compute-bound anyway.
     */
    public static final int DEFAULT_MAX_RUNNING_SEQUENCES = 128;
    /** Waiting time that raises a request by one priority level unless asked otherwise. */
    public static final Duration DEFAULT_AGEING_INTERVAL = Duration.ofSeconds(10);

    private static final SchedulerConfig DEFAULTS = builder().build();

    private final int maxQueuedRequests;
    private final int maxRunningSequences;
    private final int stepTokens;
    private final Duration ageingInterval;

    private SchedulerConfig(Builder b, int maxRunningSequences) {
        this.maxQueuedRequests = b.maxQueuedRequests;
        this.maxRunningSequences = maxRunningSequences;
        this.stepTokens = b.stepTokens;
        this.ageingInterval = b.ageingInterval;
    }

    /** The defaults. */
    public static SchedulerConfig defaults() {
        return DEFAULTS;
    }

    /** A builder with the defaults. */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Requests submitted with {@code processRequest} that may wait for admission at once; one more is rejected.
     * Requests of {@code processBatchOptimized} enter group by group and are not counted.
     */
    public int maxQueuedRequests() {
        return maxQueuedRequests;
    }

    /** Sequences that run (hold KV blocks and a row in every step) at once. */
    public int maxRunningSequences() {
        return maxRunningSequences;
    }

    /** Rows (tokens) of one forward pass: decode tokens and prompt chunks together. */
    public int stepTokens() {
        return stepTokens;
    }

    /** Waiting (or running) this long raises a request by one priority level, down to 0 (CRITICAL). */
    public Duration ageingInterval() {
        return ageingInterval;
    }

    @Override
    public String toString() {
        return "SchedulerConfig[maxQueuedRequests " + maxQueuedRequests + ", maxRunningSequences "
                + maxRunningSequences + ", stepTokens " + stepTokens + ", ageingInterval " + ageingInterval + "]";
    }

    /** Builds a {@link SchedulerConfig}; {@link #build()} checks the values. */
    public static final class Builder {
        private int maxQueuedRequests = DEFAULT_MAX_QUEUED_REQUESTS;
        private int maxRunningSequences;
        /** Unless set, the default applies, at most the step's rows. */
        private boolean maxRunningSequencesSet;
        private int stepTokens = DEFAULT_STEP_TOKENS;
        private Duration ageingInterval = DEFAULT_AGEING_INTERVAL;

        private Builder() {
        }

        /** Requests that may wait at once, positive. */
        public Builder maxQueuedRequests(int maxQueuedRequests) {
            this.maxQueuedRequests = maxQueuedRequests;
            return this;
        }

        /**
         * Sequences running at once, positive and at most {@link #stepTokens}; unless set,
         * {@value SchedulerConfig#DEFAULT_MAX_RUNNING_SEQUENCES} or the step's rows if fewer.
         */
        public Builder maxRunningSequences(int maxRunningSequences) {
            this.maxRunningSequences = maxRunningSequences;
            this.maxRunningSequencesSet = true;
            return this;
        }

        /** Rows per step, positive. */
        public Builder stepTokens(int stepTokens) {
            this.stepTokens = stepTokens;
            return this;
        }

        /** Waiting time per priority level gained, positive. */
        public Builder ageingInterval(Duration ageingInterval) {
            this.ageingInterval = Objects.requireNonNull(ageingInterval, "ageingInterval");
            return this;
        }

        /**
         * The configuration.
         *
         * @throws IllegalArgumentException naming the value: a count below 1, more running sequences than rows
         *                                  per step (each needs a row every step), a non-positive ageing
         *                                  interval
         */
        public SchedulerConfig build() {
            if (maxQueuedRequests < 1) {
                throw new IllegalArgumentException("maxQueuedRequests must be positive: " + maxQueuedRequests);
            }
            if (stepTokens < 1) {
                throw new IllegalArgumentException("stepTokens must be positive: " + stepTokens);
            }
            int running = maxRunningSequencesSet ? maxRunningSequences
                    : Math.min(DEFAULT_MAX_RUNNING_SEQUENCES, stepTokens);
            if (running < 1 || running > stepTokens) {
                throw new IllegalArgumentException("maxRunningSequences must be in [1, stepTokens = " + stepTokens
                        + "] (each running sequence needs a row every step): " + running);
            }
            if (ageingInterval.isNegative() || ageingInterval.isZero()) {
                throw new IllegalArgumentException("ageingInterval must be positive: " + ageingInterval);
            }
            return new SchedulerConfig(this, running);
        }
    }
}
