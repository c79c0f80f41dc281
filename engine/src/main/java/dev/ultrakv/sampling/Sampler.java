package dev.ultrakv.sampling;

import java.util.Arrays;

/**
 * Picks the next token from logits: greedy at temperature 0, otherwise a draw from the softmax of the logits
 * divided by the temperature, optionally restricted to the {@code topK} most likely tokens and then to the
 * smallest set whose probability exceeds {@code topP} (nucleus sampling).
 *
 * <p>With {@code topK} off, the arithmetic and the random number generator are those of llama2.c's run.c, so
 * that a seed gives the same text as the reference program. Not thread-safe: one sampler per sequence.
 */
public final class Sampler {
    private final int vocabularySize;
    private final float temperature;
    private final float topP;
    private final int topK;
    private final float minP;
    private final float presencePenalty;
    private final float frequencyPenalty;
    /** Times each token was generated ({@link #accept}); null unless a penalty applies. */
    private final int[] generatedCounts;
    private long rngState;
    private final int[] order;
    private final float[] sortedProbabilities;

    /**
     * @param temperature 0 for greedy decoding; otherwise positive and finite
     * @param topP        nucleus threshold in (0, 1); 0 or 1 turns it off
     * @param topK        keep only the k most likely tokens; 0 turns it off
     * @param seed        seeds the generator; the same seed gives the same draws (0 is mapped to a fixed
     *                    non-zero state since xorshift cannot leave zero)
     * @throws IllegalArgumentException naming the bad value
     */
    public Sampler(int vocabularySize, float temperature, float topP, int topK, long seed) {
        this(vocabularySize, SamplingParams.of(temperature, topP, topK), seed);
    }

    /**
     * A sampler with every setting of {@code params}: min-p and the presence and frequency penalties too.
     *
     * @param seed seeds the generator, as above
     * @throws IllegalArgumentException naming the bad value
     */
    public Sampler(int vocabularySize, SamplingParams params, long seed) {
        params.validate();
        if (vocabularySize <= 0) {
            throw new IllegalArgumentException("vocabulary size must be positive: " + vocabularySize);
        }
        this.vocabularySize = vocabularySize;
        this.temperature = params.temperature();
        this.topP = params.topP();
        this.topK = params.topK();
        this.minP = params.minP();
        this.presencePenalty = params.presencePenalty();
        this.frequencyPenalty = params.frequencyPenalty();
        this.generatedCounts = params.penalizes() ? new int[vocabularySize] : null;
        this.rngState = seed == 0 ? ZERO_SEED_STATE : seed;
        this.order = new int[vocabularySize];
        this.sortedProbabilities = new float[vocabularySize];
    }

    /** A greedy sampler: always the most likely token (the first one on ties, as run.c). */
    public static Sampler greedy(int vocabularySize) {
        return new Sampler(vocabularySize, 0f, 0f, 0, 1);
    }

    /** Checks sampling settings, naming the first bad one. */
    public static void validate(float temperature, float topP, int topK) {
        if (!(temperature >= 0) || Float.isInfinite(temperature)) {
            throw new IllegalArgumentException("temperature must be a finite number >= 0, got " + temperature);
        }
        if (!(topP >= 0 && topP <= 1)) {
            throw new IllegalArgumentException("top-p must be in [0, 1], got " + topP);
        }
        if (topK < 0) {
            throw new IllegalArgumentException("top-k must be >= 0 (0 = off), got " + topK);
        }
    }

    /** An arbitrary odd constant used when the seed is 0. */
    private static final long ZERO_SEED_STATE = 0x9E3779B97F4A7C15L;

    public float temperature() {
        return temperature;
    }

    /**
     * Samples a token from {@code logits[offset, offset + vocabularySize)}. The logits are overwritten (scaled
     * and turned into probabilities) unless sampling is greedy.
     *
     * <p>A temperature so small that the largest scaled logit overflows a float puts all the probability on the
     * most likely token, so the result is the greedy one (the random draw is still made, one per token).
     *
     * @throws NonFiniteLogitsException if a logit is NaN or positive infinity, or every logit is negative
     *                                  infinity, at any temperature
     */
    public int sample(float[] logits, int offset) {
        int best = checkedArgmax(logits, offset, vocabularySize);
        if (generatedCounts != null) {
            best = penalize(logits, offset);
        }
        if (temperature == 0f) {
            return best;
        }
        for (int i = 0; i < vocabularySize; i++) {
            logits[offset + i] /= temperature;
        }
        if (Float.isInfinite(logits[offset + best])) {
            randomFloat();
            return best;
        }
        softmax(logits, offset, vocabularySize);
        if (minP > 0f) {
            keepAboveMinP(logits, offset, logits[offset + best]);
        }
        float coin = randomFloat();
        if (topK > 0 && topK < vocabularySize) {
            return sampleTopK(logits, offset, coin);
        }
        if (topP <= 0 || topP >= 1) {
            return sampleMultinomial(logits, offset, coin);
        }
        return sampleTopP(logits, offset, coin);
    }

    /**
     * Records that {@code token} was generated, for the presence and frequency penalties of later tokens.
     * Does nothing when no penalty applies.
     */
    public void accept(int token) {
        if (generatedCounts != null) {
            generatedCounts[token]++;
        }
    }

    /**
     * Subtracts the penalties from the logits of the tokens generated so far (OpenAI's rule: the presence
     * penalty once, the frequency penalty once per occurrence) and returns the most likely token after them.
     */
    private int penalize(float[] logits, int offset) {
        for (int i = 0; i < vocabularySize; i++) {
            int count = generatedCounts[i];
            if (count > 0) {
                logits[offset + i] -= presencePenalty + frequencyPenalty * count;
            }
        }
        return argmax(logits, offset, vocabularySize);
    }

    /** Min-p: zeroes the probabilities below {@code minP} times the largest and renormalises the rest. */
    private void keepAboveMinP(float[] p, int offset, float largest) {
        float threshold = minP * largest;
        float sum = 0f;
        for (int i = 0; i < vocabularySize; i++) {
            if (p[offset + i] < threshold) {
                p[offset + i] = 0f;
            }
            sum += p[offset + i];
        }
        for (int i = 0; i < vocabularySize; i++) {
            p[offset + i] /= sum;
        }
    }

    /** Index of the largest value; the first one on ties. */
    public static int argmax(float[] values, int offset, int n) {
        int best = 0;
        float max = values[offset];
        for (int i = 1; i < n; i++) {
            if (values[offset + i] > max) {
                max = values[offset + i];
                best = i;
            }
        }
        return best;
    }

    /**
     * {@link #argmax} after checking that the logits can be sampled from: the first NaN or positive infinity, or
     * a vocabulary of negative infinities only, is a {@link NonFiniteLogitsException}.
     */
    private static int checkedArgmax(float[] logits, int offset, int n) {
        int best = 0;
        float max = Float.NEGATIVE_INFINITY;
        for (int i = 0; i < n; i++) {
            float v = logits[offset + i];
            if (Float.isNaN(v) || v == Float.POSITIVE_INFINITY) {
                throw new NonFiniteLogitsException(i, v);
            }
            if (v > max) {
                max = v;
                best = i;
            }
        }
        if (max == Float.NEGATIVE_INFINITY) {
            throw new NonFiniteLogitsException(0, max);
        }
        return best;
    }

    private static void softmax(float[] x, int offset, int n) {
        float max = x[offset];
        for (int i = 1; i < n; i++) {
            max = Math.max(max, x[offset + i]);
        }
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            x[offset + i] = (float) Math.exp(x[offset + i] - max);
            sum += x[offset + i];
        }
        for (int i = 0; i < n; i++) {
            x[offset + i] /= sum;
        }
    }

    private int sampleMultinomial(float[] p, int offset, float coin) {
        float cdf = 0f;
        for (int i = 0; i < vocabularySize; i++) {
            cdf += p[offset + i];
            if (coin < cdf) {
                return i;
            }
        }
        return vocabularySize - 1;
    }

    /** run.c's sample_topp: drop tokens that cannot be in the nucleus, sort the rest, cut at topP. */
    private int sampleTopP(float[] p, int offset, float coin) {
        float cutoff = (1.0f - topP) / (vocabularySize - 1);
        int n = 0;
        for (int i = 0; i < vocabularySize; i++) {
            if (p[offset + i] >= cutoff) {
                order[n++] = i;
            }
        }
        if (n == 0) {
            // Possible only for a near-uniform distribution (or a vocabulary of one): no token reaches the cutoff.
            return sampleMultinomial(p, offset, coin);
        }
        n = sortDescending(p, offset, n);
        return drawFromSorted(n, topP, coin);
    }

    /** Keeps the topK most likely tokens, renormalises them, then applies top-p within them. */
    private int sampleTopK(float[] p, int offset, float coin) {
        for (int i = 0; i < vocabularySize; i++) {
            order[i] = i;
        }
        int n = Math.min(topK, sortDescending(p, offset, vocabularySize));
        float sum = 0f;
        for (int i = 0; i < n; i++) {
            sum += sortedProbabilities[i];
        }
        for (int i = 0; i < n; i++) {
            sortedProbabilities[i] /= sum;
        }
        return drawFromSorted(n, topP > 0 && topP < 1 ? topP : 1f, coin);
    }

    /** Sorts {@code order[0, n)} by probability, descending (stable), filling sortedProbabilities. */
    private int sortDescending(float[] p, int offset, int n) {
        Integer[] boxed = new Integer[n];
        for (int i = 0; i < n; i++) {
            boxed[i] = order[i];
        }
        Arrays.sort(boxed, (a, b) -> Float.compare(p[offset + b], p[offset + a]));
        for (int i = 0; i < n; i++) {
            order[i] = boxed[i];
            sortedProbabilities[i] = p[offset + boxed[i]];
        }
        return n;
    }

    private int drawFromSorted(int n, float threshold, float coin) {
        float cumulative = 0f;
        int last = n - 1;
        for (int i = 0; i < n; i++) {
            cumulative += sortedProbabilities[i];
            if (cumulative > threshold) {
                last = i;
                break;
            }
        }
        float r = coin * cumulative;
        float cdf = 0f;
        for (int i = 0; i <= last; i++) {
            cdf += sortedProbabilities[i];
            if (r < cdf) {
                return order[i];
            }
        }
        return order[last];
    }

    /** run.c's xorshift* generator: 32 random bits. */
    private int randomInt() {
        rngState ^= rngState >>> 12;
        rngState ^= rngState << 25;
        rngState ^= rngState >>> 27;
        return (int) ((rngState * 0x2545F4914F6CDD1DL) >>> 32);
    }

    /** A float in [0, 1), as run.c's random_f32. */
    private float randomFloat() {
        return (randomInt() >>> 8) / 16777216.0f;
    }
}
