package dev.ultrakv.sampling;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Edge cases of sampling: extreme temperatures, non-finite logits, nuclei that keep nothing. */
class SamplerTest {
    private static final int VOCABULARY = 512;

    private static float[] randomLogits(long seed) {
        Random random = new Random(seed);
        float[] logits = new float[VOCABULARY];
        for (int i = 0; i < logits.length; i++) {
            logits[i] = (float) (random.nextGaussian() * 4);
        }
        return logits;
    }

    @Test
    void temperaturesSoSmallThatScaledLogitsOverflow_sampleTheGreedyToken() {
        for (float temperature : new float[] {1e-38f, Float.MIN_VALUE, 1e-30f}) {
            for (long seed = 1; seed <= 20; seed++) {
                float[] logits = randomLogits(seed);
                int greedy = Sampler.argmax(logits, 0, VOCABULARY);
                for (int topK : new int[] {0, 40}) {
                    Sampler sampler = new Sampler(VOCABULARY, temperature, 0.9f, topK, seed);
                    assertEquals(greedy, sampler.sample(logits.clone(), 0), "temperature " + temperature);
                }
            }
        }
    }

    @Test
    void tinyTemperatureWithOnlyNegativeLogits_samplesTheGreedyToken() {
        float[] logits = randomLogits(7);
        for (int i = 0; i < logits.length; i++) {
            logits[i] = -100 - Math.abs(logits[i]);
        }
        int greedy = Sampler.argmax(logits, 0, VOCABULARY);
        assertEquals(greedy, new Sampler(VOCABULARY, 1e-38f, 0f, 0, 3).sample(logits, 0));
    }

    @Test
    void nanLogit_isReportedWithItsTokenAtAnyTemperature() {
        for (float temperature : new float[] {0f, 0.8f, 1e-38f}) {
            float[] logits = randomLogits(11);
            logits[37] = Float.NaN;
            logits[90] = Float.NaN;
            Sampler sampler = new Sampler(VOCABULARY, temperature, 0.9f, 0, 1);
            NonFiniteLogitsException e = assertThrows(NonFiniteLogitsException.class,
                    () -> sampler.sample(logits, 0));
            assertEquals(37, e.tokenId());
            assertTrue(Float.isNaN(e.value()));
        }
    }

    @Test
    void positiveInfiniteLogit_isReported() {
        float[] logits = randomLogits(12);
        logits[5] = Float.POSITIVE_INFINITY;
        NonFiniteLogitsException e = assertThrows(NonFiniteLogitsException.class,
                () -> Sampler.greedy(VOCABULARY).sample(logits, 0));
        assertEquals(5, e.tokenId());
        assertEquals(Float.POSITIVE_INFINITY, e.value());
    }

    @Test
    void negativeInfiniteLogits_ruleTokensOut() {
        float[] logits = new float[VOCABULARY];
        Arrays.fill(logits, Float.NEGATIVE_INFINITY);
        logits[300] = 1f;
        logits[301] = 0.5f;
        for (long seed = 1; seed <= 50; seed++) {
            int token = new Sampler(VOCABULARY, 1f, 0f, 0, seed).sample(logits.clone(), 0);
            assertTrue(token == 300 || token == 301, "token " + token);
        }
    }

    @Test
    void onlyNegativeInfiniteLogits_areReported() {
        float[] logits = new float[VOCABULARY];
        Arrays.fill(logits, Float.NEGATIVE_INFINITY);
        assertThrows(NonFiniteLogitsException.class, () -> Sampler.greedy(VOCABULARY).sample(logits, 0));
    }

    @Test
    void nucleusThatNoTokenReaches_stillSamplesAToken() {
        // Uniform logits: every probability is 1/512, below run.c's cutoff (1 - 0.001) / 511.
        for (long seed = 1; seed <= 20; seed++) {
            int token = new Sampler(VOCABULARY, 1f, 0.001f, 0, seed).sample(new float[VOCABULARY], 0);
            assertTrue(token >= 0 && token < VOCABULARY, "token " + token);
        }
        assertEquals(0, new Sampler(1, 1f, 0.9f, 0, 1).sample(new float[] {3f}, 0));
    }

    @Test
    void contextualMessage_namesModelTokenAndPosition() {
        NonFiniteLogitsException e = new NonFiniteLogitsException(17, Float.NaN).at("stories260K", 5);
        assertEquals("model stories260K produced a non-finite logit (NaN) for token 17 at position 5",
                e.getMessage());
        assertEquals(17, e.tokenId());
        assertTrue(Float.isNaN(e.value()));
    }
}
