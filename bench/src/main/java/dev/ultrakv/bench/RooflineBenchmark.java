package dev.ultrakv.bench;

import dev.ultrakv.kvcache.DenseKvStore;
import dev.ultrakv.model.ForwardState;
import dev.ultrakv.model.LlamaConfig;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.ModelLoader;
import dev.ultrakv.model.synthetic.SyntheticShape;
import dev.ultrakv.sampling.Sampler;
import dev.ultrakv.tensor.GgmlType;
import dev.ultrakv.tensor.MachinePeaks;

import java.util.Arrays;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * Whole-model speed against the machine's own limits, measured in one run: single-sequence decode as a fraction
 * of the STREAM-triad memory bandwidth (decode streams every weight once per token), and prefill as a fraction of
 * the peak FMA throughput (prefill is matrix-matrix and should be compute-bound).
 *
 * <p>Both peaks are measured by this run on all cores, so the fractions compare like with like on a shared,
 * noisy machine. Each timing is the median of {@value #REPEATS} runs after a warm-up that lets the JIT compile
 * the kernels.
 */
public final class RooflineBenchmark {
    /** Timed repetitions per figure; the median is reported. */
    static final int REPEATS = 3;
    /** Prompt positions filled before decode is timed, so attention has some context as in real use. */
    static final int DECODE_CONTEXT = 16;

    /**
     * The figures of one run.
     *
     * @param triadBytesPerSecond     measured STREAM-triad bandwidth
     * @param peakFlopsPerSecond      measured peak FMA throughput (2 flops per lane per FMA)
     * @param weightBytesPerToken     bytes of weights a decode step reads
     * @param decodeTokensPerSecond   single-sequence decode speed
     * @param prefillTokens           prompt length of the prefill figure
     * @param prefillTokensPerSecond  prefill speed
     * @param prefillFlopsPerToken    average flops per prompt token (matmuls and attention)
     */
    public record Result(String shape, GgmlType type, int cores, double triadBytesPerSecond,
                         double peakFlopsPerSecond, long weightBytesPerToken, double decodeTokensPerSecond,
                         int prefillTokens, double prefillTokensPerSecond, double prefillFlopsPerToken) {

        /** Weight bytes streamed per second while decoding, over the triad bandwidth. */
        public double decodeBandwidthFraction() {
            return weightBytesPerToken * decodeTokensPerSecond / triadBytesPerSecond;
        }

        /** Flops per second while prefilling, over the peak FMA throughput. */
        public double prefillFmaFraction() {
            return prefillFlopsPerToken * prefillTokensPerSecond / peakFlopsPerSecond;
        }

        /** A small table for people. */
        public String format() {
            return String.format(Locale.ROOT, """
                    model                 %s %s (%d cores)
                    triad bandwidth       %.2f GB/s
                    peak FMA              %.1f GFLOP/s
                    decode                %.2f tokens/s x %.1f MB/token = %.2f GB/s -> %.2f of triad bandwidth
                    prefill (%d tokens)  %.1f tokens/s x %.3f GFLOP/token = %.1f GFLOP/s -> %.2f of peak FMA
                    """,
                    shape, type, cores, triadBytesPerSecond / 1e9, peakFlopsPerSecond / 1e9,
                    decodeTokensPerSecond, weightBytesPerToken / 1e6,
                    weightBytesPerToken * decodeTokensPerSecond / 1e9, decodeBandwidthFraction(),
                    prefillTokens, prefillTokensPerSecond, prefillFlopsPerToken / 1e9,
                    prefillFlopsPerToken * prefillTokensPerSecond / 1e9, prefillFmaFraction());
        }
    }

    private RooflineBenchmark() {
    }

    /** Runs the benchmark on a synthetic model built in memory. */
    public static Result run(SyntheticShape shape, GgmlType type, int prefillTokens, int decodeTokens, long seed) {
        if (prefillTokens <= 0 || decodeTokens <= 0) {
            throw new IllegalArgumentException("token counts must be positive: prefill " + prefillTokens
                    + ", decode " + decodeTokens);
        }
        try (LlamaModel model = ModelLoader.synthetic(shape, type, seed)) {
            LlamaConfig c = model.config();
            if (prefillTokens > c.contextLength() || DECODE_CONTEXT + decodeTokens > c.contextLength()) {
                throw new IllegalArgumentException("the " + shape.name() + " context holds " + c.contextLength()
                        + " tokens");
            }
            int[] prompt = randomTokens(c.vocabularySize(), prefillTokens, seed);
            // Warm-up: the JIT compiles the kernels for both batch shapes before anything is timed.
            prefillSeconds(model, Arrays.copyOf(prompt, Math.min(prefillTokens, 64)));
            decodeSeconds(model, prompt, Math.min(decodeTokens, 8));
            double triad = MachinePeaks.measureTriadBandwidth();
            double peak = MachinePeaks.measurePeakFmaFlops();
            double[] decode = new double[REPEATS];
            double[] prefill = new double[REPEATS];
            for (int r = 0; r < REPEATS; r++) {
                decode[r] = decodeTokens / decodeSeconds(model, prompt, decodeTokens);
                prefill[r] = prefillTokens / prefillSeconds(model, prompt);
            }
            return new Result(shape.name(), type, Runtime.getRuntime().availableProcessors(), triad, peak,
                    model.weights().bytesPerToken(), median(decode), prefillTokens, median(prefill),
                    prefillFlops(c, prefillTokens) / prefillTokens);
        }
    }

    /** Flops of a prefill of {@code n} tokens: every matmul (logits for the last token only) and attention. */
    static double prefillFlops(LlamaConfig c, int n) {
        double perTokenMacs = (double) c.layers()
                * (2.0 * c.dim() * c.dim() + 2.0 * c.kvDim() * c.dim() + 3.0 * c.hiddenDim() * c.dim());
        double logitsMacs = (double) c.vocabularySize() * c.dim();
        // Position p attends to p + 1 positions: q.k and the weighted sum of v, dim MACs each per position.
        double attentionMacs = (double) c.layers() * 2.0 * c.dim() * ((double) n * (n + 1) / 2);
        return 2 * (perTokenMacs * n + logitsMacs + attentionMacs);
    }

    private static double prefillSeconds(LlamaModel model, int[] prompt) {
        return SpeedBenchmark.prefillNanos(model, prompt, System::nanoTime) / 1e9;
    }

    private static double decodeSeconds(LlamaModel model, int[] prompt, int steps) {
        DenseKvStore store = new DenseKvStore(model.config().kvLayout(), DECODE_CONTEXT + steps);
        ForwardState state = model.newState(DECODE_CONTEXT);
        model.prefill(state, prompt, 0, DECODE_CONTEXT, 0, store);
        ForwardState one = model.newState(1);
        int token = prompt[DECODE_CONTEXT - 1];
        long start = System.nanoTime();
        for (int i = 0; i < steps; i++) {
            float[] logits = model.decode(one, token, DECODE_CONTEXT + i, store);
            token = Sampler.argmax(logits, 0, model.config().vocabularySize());
        }
        return (System.nanoTime() - start) / 1e9;
    }

    private static int[] randomTokens(int vocabulary, int n, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        int[] tokens = new int[n];
        tokens[0] = 1;
        for (int i = 1; i < n; i++) {
            tokens[i] = 3 + random.nextInt(vocabulary - 3);
        }
        return tokens;
    }

    /** The median of {@code values} (the upper one of an even count). */
    static double median(double[] values) {
        double[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[sorted.length / 2];
    }
}
