package dev.ultrakv.quality;

import dev.ultrakv.kvcache.codec.KvCodecKind;
import dev.ultrakv.kvcache.compress.CompressionMethod;
import dev.ultrakv.kvcache.compress.KvCompression;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.ModelLoader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The harness on the embedded model: the reference against itself, a candidate whose stores add noise, and the
 * arithmetic of the divergence on distributions small enough to work out by hand.
 */
class QualityHarnessTest {
    /** Short lengths keep the test fast; 64 and 128 tokens still give 16 and 32 forced positions per text. */
    private static final List<Integer> LENGTHS = List.of(64, 128);
    /** One short length, for the tests that run the harness more than once. */
    private static final List<Integer> SHORT = List.of(64);
    private static final int TEXTS = 2;
    private static final int GREEDY_TOKENS = 16;
    /** Relative noise on every stored K/V element: large enough to move the distributions, small beside 1. */
    private static final double NOISE = 0.05;
    /** Tolerance on the hand-computed divergences: a few ulps of double arithmetic on values near 1. */
    private static final double EXACT = 1e-12;

    private static LlamaModel model;
    private static List<int[]> texts;

    @BeforeAll
    static void load() {
        model = ModelLoader.loadEmbedded();
        texts = QualityTexts.tokenized(model.tokenizer(), TEXTS);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    private static QualityReport run(QualityHarness harness) {
        return harness.run(texts, List.of(KvCandidate.REFERENCE));
    }

    @Test
    void theReferenceAgainstItself_divergesByExactlyZeroAndAgreesEverywhere() {
        QualityReport report = run(new QualityHarness(model, LENGTHS, GREEDY_TOKENS));
        QualityRow row = report.row(KvCandidate.REFERENCE);
        QualityStats s = row.stats();
        assertEquals(LENGTHS.size() * TEXTS, s.runs());
        assertEquals(TEXTS * (16 + 32), s.positions(), "one position per continuation token");
        assertEquals(0.0, s.meanKl());
        assertEquals(0.0, s.maxKl());
        assertEquals(1.0, s.top1Agreement());
        assertEquals(0, s.divergedRuns());
        assertTrue(Double.isNaN(s.medianFirstDivergence()));
        assertEquals(s.referencePerplexity(), s.perplexity());
        assertTrue(s.perplexity() > 1 && s.perplexity() < 20,
                "stories260K should predict a children's story well: perplexity " + s.perplexity());
        assertEquals(model.config().kvLayout().float32BytesPerToken(), row.kvBytesPerToken());
        assertEquals(1.0, row.float32Fraction());
        assertEquals(32.0, row.bitsPerValue());
        assertEquals(LENGTHS, report.perLength().stream().map(QualityRow::length).toList());
        assertTrue(report.skipped().isEmpty());
    }

    @Test
    void aCandidateWhoseStoreAddsNoise_divergesMoreWithMoreNoise_andTheReferenceIsUntouched() {
        QualityStats noisy = run(new QualityHarness(model, SHORT, GREEDY_TOKENS,
                store -> new NoisyKvStore(store, NOISE))).row(KvCandidate.REFERENCE).stats();
        QualityStats noisier = run(new QualityHarness(model, SHORT, GREEDY_TOKENS,
                store -> new NoisyKvStore(store, 4 * NOISE))).row(KvCandidate.REFERENCE).stats();
        assertTrue(noisy.meanKl() > 0, "noise must show: " + noisy);
        assertTrue(noisy.maxKl() >= noisy.meanKl());
        assertTrue(noisier.meanKl() > noisy.meanKl(), "more noise, more divergence: " + noisy + " vs " + noisier);
        assertTrue(noisier.perplexity() != noisier.referencePerplexity());
        assertEquals(noisy.referencePerplexity(), noisier.referencePerplexity(), "the reference is never perturbed");
    }

    @Test
    void twoRunsGiveTheSameReport() {
        QualityHarness harness = new QualityHarness(model, SHORT, GREEDY_TOKENS,
                store -> new NoisyKvStore(store, 4 * NOISE));
        List<RunMeasurement> first = run(harness).runs();
        List<RunMeasurement> second = run(harness).runs();
        assertEquals(first.size(), second.size());
        for (int i = 0; i < first.size(); i++) {
            RunMeasurement a = first.get(i);
            RunMeasurement b = second.get(i);
            // Counts exactly; sums to a relative 1e-9, as the JIT may compile a kernel between the two runs and
            // change the last bits of the logits (see LockStepBatch).
            assertEquals(a.positions(), b.positions());
            assertEquals(a.top1Matches(), b.top1Matches());
            assertEquals(a.firstDivergence(), b.firstDivergence());
            assertEquals(a.klSum(), b.klSum(), 1e-9 * a.klSum());
            assertEquals(a.nll(), b.nll(), 1e-9 * a.nll());
        }
    }

    @Test
    void compressedCandidatesWaitForAPromptOfAtLeast256Tokens() {
        KvCandidate streaming = new KvCandidate(KvCodecKind.F32, new KvCompression(CompressionMethod.STREAMING, 0.5));
        assertEquals(false, QualityHarness.runsAt(streaming, 256), "a 192-token prompt");
        assertEquals(true, QualityHarness.runsAt(streaming, 344), "a 258-token prompt");
        assertEquals(true, QualityHarness.runsAt(KvCandidate.REFERENCE, 64));
        QualityReport report = new QualityHarness(model, List.of(64), GREEDY_TOKENS)
                .run(texts, List.of(KvCandidate.REFERENCE, streaming));
        assertEquals(1, report.skipped().size());
        assertEquals(streaming, report.skipped().getFirst().candidate());
        assertTrue(report.skipped().getFirst().reason().contains("at least 256"), report.skipped().toString());
    }

    @Test
    void theFirstDivergenceIsTheFirstDifferingTokenOrTheEndOfTheShorterRun() {
        assertEquals(RunMeasurement.NO_DIVERGENCE, QualityHarness.firstDivergence(new int[] {5, 6, 7},
                new int[] {5, 6, 7}));
        assertEquals(0, QualityHarness.firstDivergence(new int[] {5, 6}, new int[] {4, 6}));
        assertEquals(2, QualityHarness.firstDivergence(new int[] {5, 6, 7}, new int[] {5, 6, 8}));
        assertEquals(2, QualityHarness.firstDivergence(new int[] {5, 6}, new int[] {5, 6, 2}),
                "a run that ended differs from one that goes on");
    }

    @Test
    void klDivergenceMatchesHandComputedValues() {
        double[] p = TokenDistributions.logSoftmax(new float[] {(float) Math.log(0.5), (float) Math.log(0.5)});
        double[] q = TokenDistributions.logSoftmax(new float[] {(float) Math.log(0.9), (float) Math.log(0.1)});
        // KL(p‖q) = 0.5 ln(0.5/0.9) + 0.5 ln(0.5/0.1) = 0.5 ln(25/9); KL(q‖p) = 0.9 ln 1.8 + 0.1 ln 0.2.
        assertEquals(0.5 * Math.log(25.0 / 9), TokenDistributions.klDivergence(p, q, 2), 1e-7);
        assertEquals(0.9 * Math.log(1.8) + 0.1 * Math.log(0.2), TokenDistributions.klDivergence(q, p, 2), 1e-7);
        assertEquals(0.0, TokenDistributions.klDivergence(p, p, 2), "identical distributions: exactly 0");
    }

    @Test
    void logSoftmaxIsExactOnHandMadeLogitsAndIgnoresShiftsAndLargeValues() {
        double[] exact = TokenDistributions.logSoftmax(new float[] {2, 1, 1});
        double normalizer = Math.log(Math.exp(2) + 2 * Math.exp(1));
        assertEquals(2 - normalizer, exact[0], EXACT);
        assertEquals(1 - normalizer, exact[1], EXACT);
        double[] shifted = TokenDistributions.logSoftmax(new float[] {1002, 1001, 1001});
        for (int i = 0; i < exact.length; i++) {
            assertEquals(exact[i], shifted[i], EXACT, "log-softmax is shift invariant and does not overflow");
        }
        double[] skewed = TokenDistributions.logSoftmax(new float[] {1000, 0});
        assertEquals(0.0, skewed[0], EXACT);
        assertEquals(-1000.0, skewed[1], EXACT, "a vanishing probability keeps a finite log");
        // KL(p‖q) with p = (1, e^-1000) and q = (1/2, 1/2): ln 2, the second term vanishing without NaN.
        double[] even = TokenDistributions.logSoftmax(new float[] {0, 0});
        assertEquals(Math.log(2), TokenDistributions.klDivergence(skewed, even, 2), EXACT);
    }

    @Test
    void badSettingsAndShortTextsAreRefused() {
        assertThrows(IllegalArgumentException.class, () -> new QualityHarness(model, List.of(1024), 8),
                "longer than the context");
        assertThrows(IllegalArgumentException.class, () -> new QualityHarness(model, List.of(64), 0));
        assertThrows(IllegalArgumentException.class, () -> new QualityHarness(model, List.of(), 8));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new QualityHarness(model, List.of(64), 8).run(List.of(new int[10]), List.of()));
        assertTrue(e.getMessage().contains("text 0 has 10 tokens"), e.getMessage());
    }
}
