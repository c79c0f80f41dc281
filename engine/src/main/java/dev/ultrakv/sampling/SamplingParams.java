package dev.ultrakv.sampling;

/**
 * How a {@link Sampler} picks tokens, as the OpenAI API and llama.cpp name the settings. With {@code minP} and
 * both penalties at 0 the sampler is run.c's, so a seed gives the reference program's text.
 *
 * @param temperature      0 for greedy decoding; otherwise positive and finite
 * @param topP             nucleus threshold in (0, 1); 0 or 1 turns it off
 * @param topK             keep only the k most likely tokens; 0 turns it off
 * @param minP             drop tokens less likely than {@code minP} times the most likely one, in [0, 1]; 0 off
 * @param presencePenalty  subtracted from the logit of every token generated at least once, in [-2, 2]
 * @param frequencyPenalty subtracted from a token's logit once per time it was generated, in [-2, 2]
 */
public record SamplingParams(float temperature, float topP, int topK, float minP, float presencePenalty,
                             float frequencyPenalty) {
    /** The bound of both penalties, as OpenAI's API sets it. */
    public static final float MAX_PENALTY = 2f;

    /** Greedy decoding with nothing else. */
    public static final SamplingParams GREEDY = new SamplingParams(0f, 0f, 0, 0f, 0f, 0f);

    /** Temperature, top-p and top-k only (run.c's settings, with top-k). */
    public static SamplingParams of(float temperature, float topP, int topK) {
        return new SamplingParams(temperature, topP, topK, 0f, 0f, 0f);
    }

    /**
     * Checks every setting, naming the first bad one.
     *
     * @throws IllegalArgumentException naming the setting and its value
     */
    public SamplingParams validate() {
        Sampler.validate(temperature, topP, topK);
        if (!(minP >= 0 && minP <= 1)) {
            throw new IllegalArgumentException("min-p must be in [0, 1], got " + minP);
        }
        if (!(Math.abs(presencePenalty) <= MAX_PENALTY)) {
            throw new IllegalArgumentException("presence penalty must be in [-2, 2], got " + presencePenalty);
        }
        if (!(Math.abs(frequencyPenalty) <= MAX_PENALTY)) {
            throw new IllegalArgumentException("frequency penalty must be in [-2, 2], got " + frequencyPenalty);
        }
        return this;
    }

    /** Whether a penalty applies: the sampler then counts the tokens generated. */
    public boolean penalizes() {
        return presencePenalty != 0f || frequencyPenalty != 0f;
    }
}
