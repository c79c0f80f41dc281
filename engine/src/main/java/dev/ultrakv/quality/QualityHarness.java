package dev.ultrakv.quality;

import dev.ultrakv.KVCacheConfig;
import dev.ultrakv.kvcache.KvCacheManager;
import dev.ultrakv.kvcache.KvLayout;
import dev.ultrakv.kvcache.KvStore;
import dev.ultrakv.model.ForwardState;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.sampling.Sampler;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.UnaryOperator;

/**
 * Measures how far KV cache settings (codecs, compression) move a model's predictions away from a float32,
 * uncompressed cache, by teacher forcing texts through both.
 *
 * <p>Each text is cut to each length; its first {@value #PROMPT_NUMERATOR}/{@value #PROMPT_DENOMINATOR} is the
 * prompt (prefilled), the rest is forced one decode step at a time with the true next token. At every forced
 * position the candidate's next-token distribution is compared with the reference's: {@code KL(ref ‖ cand)}, the
 * top-1 agreement, and the perplexity of each on the true token. Then both generate greedily from the prompt
 * and the index of their first differing token is kept. The caches' K/V bytes per position come from the
 * caches themselves ({@link KvCacheManager#kvBytesPerToken}).
 *
 * <pre>
 * text     | prompt (prefill, then compact)            | forced continuation (decode + compact per token) |
 * compare                                            ^ logits of the last prompt row, then of every forced row
 * greedy   | prompt                                    | argmax, argmax, ... up to greedyTokens            |
 * </pre>
 *
 * <h2>Notes</h2>
 * <b>Why one decode step per forced token.</b> Teacher forcing could run the whole text as one prefill and ask
 * for the logits of every continuation row ({@link LlamaModel#forward} can). A compressed cache, though, thins
 * a sequence as it grows ({@link KvCacheManager#compact} after every step), so a later token must attend only
 * to what the cache kept by then, exactly as in generation. Every lane, reference included, therefore runs as
 * the engine's sequence runner does: prefill, compact, then decode and compact per token. (The uncompressed
 * reference alone could be one pass; it runs step by step to share its passes with the candidates, below.)
 *
 * <p><b>Lock step.</b> The reference and every candidate, forced and greedy, run as lanes of the same forward
 * passes ({@link LockStepBatch}): the same compiled kernels for all, so a candidate identical to the reference
 * gives a divergence of exactly 0, and the weights are read once per pass for all lanes.
 *
 * <p><b>Compression and short prompts.</b> Compressed candidates run only at lengths whose prompt has at least
 * {@value #MIN_COMPRESSED_PROMPT} tokens, as the issue asks: on shorter prompts the methods' fixed parts
 * (StreamingLLM's 4 sinks, SnapKV's 32-position observation window, a block of slack before each compaction)
 * take much of the budget, and the figures would describe those constants more than the methods.
 *
 * <p><b>Determinism.</b> No sampling and no clock: the same texts, settings and build give the same report, up
 * to the last bits of logits that the JIT's compilation of the kernels may change between processes.
 *
 * <p><b>Nothing is reused.</b> Each run (a text at a length) builds fresh caches and aborts its sequences at the
 * end, so no run hits a prefix cached by another: a compressed cache caches its prompt at its first compaction,
 * and a hit would change what H2O has seen (see docs/compression.md), and a later length of a text would
 * otherwise reuse its shorter prefix.
 */
public final class QualityHarness {
    /** Lengths the command runs by default: a short, a medium and a full stories260K context. */
    public static final List<Integer> DEFAULT_LENGTHS = List.of(128, 256, 512);
    /** Greedy tokens compared by default: long enough for small damage to show, short beside the texts. */
    public static final int DEFAULT_GREEDY_TOKENS = 64;
    /**
     * The prompt's share of a length, numerator: three quarters leaves a continuation long enough to average
     * over, and at 512 tokens a prompt of 384 (at least {@link #MIN_COMPRESSED_PROMPT}) for compression.
     */
    public static final int PROMPT_NUMERATOR = 3;
    /** The prompt's share of a length, denominator. */
    public static final int PROMPT_DENOMINATOR = 4;
    /** Prompt tokens a compressed candidate needs before it is measured (see the class notes). */
    public static final int MIN_COMPRESSED_PROMPT = 256;
    /** Positions per cache block: the engine's default, so that bytes per token are those it would use. */
    public static final int BLOCK_SIZE = KVCacheConfig.DEFAULT_BLOCK_SIZE;
    /** Lanes each candidate runs per text: the forced one and the greedy one. */
    private static final int LANES_PER_CANDIDATE = 2;
    /**
     * Room for one more sequence in each run's cache: a compaction allocates the kept entries' fresh blocks
     * before it lets the old ones go, so the pool must hold both lanes and one lane's copy at once.
     */
    private static final int COMPACTION_SEQUENCES = 1;
    /**
     * Positions of the cache built once per candidate to see whether it can be built at all and to ask its
     * bytes per token, which depend on its codec and compression, not on its size: one block.
     */
    private static final int PROBE_TOKENS = BLOCK_SIZE;

    private final LlamaModel model;
    private final List<Integer> lengths;
    private final int greedyTokens;
    private final UnaryOperator<KvStore> candidateView;

    /**
     * @param model        the model run
     * @param lengths      tokens of each text to run, in order; each in {@code [4, context length]}
     * @param greedyTokens tokens generated greedily from each prompt, at least 1 (fewer where the context ends)
     * @throws IllegalArgumentException if a value is out of range
     */
    public QualityHarness(LlamaModel model, List<Integer> lengths, int greedyTokens) {
        this(model, lengths, greedyTokens, UnaryOperator.identity());
    }

    /**
     * As above, with the model reading and writing each candidate's store through {@code candidateView} (the
     * reference's store is used as it is): tests damage the candidates' K/V this way.
     */
    QualityHarness(LlamaModel model, List<Integer> lengths, int greedyTokens, UnaryOperator<KvStore> candidateView) {
        this.model = Objects.requireNonNull(model, "model");
        this.candidateView = Objects.requireNonNull(candidateView, "candidateView");
        this.lengths = List.copyOf(lengths);
        int context = model.config().contextLength();
        if (this.lengths.isEmpty()) {
            throw new IllegalArgumentException("no lengths to run");
        }
        for (int length : this.lengths) {
            if (length < PROMPT_DENOMINATOR || length > context) {
                throw new IllegalArgumentException("length " + length + " outside [" + PROMPT_DENOMINATOR + ", "
                        + context + "] (the context length of " + model.name() + ")");
            }
        }
        if (greedyTokens < 1) {
            throw new IllegalArgumentException("greedy tokens must be at least 1: " + greedyTokens);
        }
        this.greedyTokens = greedyTokens;
    }

    /** Prompt tokens of a text cut to {@code length}. */
    public static int promptLength(int length) {
        return length * PROMPT_NUMERATOR / PROMPT_DENOMINATOR;
    }

    /** Whether {@code candidate} is measured at {@code length} (see the class notes on compression). */
    public static boolean runsAt(KvCandidate candidate, int length) {
        return !candidate.isCompressed() || promptLength(length) >= MIN_COMPRESSED_PROMPT;
    }

    /**
     * Runs every text at every length for every candidate against the reference.
     *
     * @param texts      token ids, BOS first, each at least as long as the longest length
     * @param candidates cache settings to compare; a candidate whose cache cannot be built (unsupported, or
     *                   refused for this model's shape) is reported as skipped with the cache's message, as is a
     *                   compressed one that no length gives a long enough prompt
     * @throws IllegalArgumentException if there are no texts, or one is too short
     */
    public QualityReport run(List<int[]> texts, List<KvCandidate> candidates) {
        checkTexts(texts);
        Map<KvCandidate, KvCacheManager> probes = new LinkedHashMap<>();
        List<SkippedCandidate> skipped = new ArrayList<>();
        try {
            for (KvCandidate candidate : candidates) {
                if (probes.containsKey(candidate) || isSkipped(skipped, candidate)) {
                    continue;
                }
                if (lengths.stream().noneMatch(length -> runsAt(candidate, length))) {
                    skipped.add(new SkippedCandidate(candidate, "compression needs a prompt of at least "
                            + MIN_COMPRESSED_PROMPT + " tokens; no length gives one"));
                    continue;
                }
                try {
                    probes.put(candidate, newCache(candidate, PROBE_TOKENS));
                } catch (UnsupportedOperationException | IllegalArgumentException e) {
                    skipped.add(new SkippedCandidate(candidate, String.valueOf(e.getMessage())));
                }
            }
            ForwardState state = model.newState(LlamaModel.DEFAULT_PREFILL_CHUNK);
            List<RunMeasurement> runs = new ArrayList<>();
            for (int length : lengths) {
                List<KvCandidate> running = probes.keySet().stream().filter(c -> runsAt(c, length)).toList();
                if (running.isEmpty()) {
                    continue;
                }
                for (int t = 0; t < texts.size(); t++) {
                    runs.addAll(runText(state, t, Arrays.copyOf(texts.get(t), length), running));
                }
            }
            return report(texts.size(), runs, probes, skipped);
        } finally {
            probes.values().forEach(KvCacheManager::close);
        }
    }

    private void checkTexts(List<int[]> texts) {
        if (texts.isEmpty()) {
            throw new IllegalArgumentException("no texts to run");
        }
        int longest = lengths.stream().mapToInt(Integer::intValue).max().orElseThrow();
        for (int t = 0; t < texts.size(); t++) {
            if (texts.get(t).length < longest) {
                throw new IllegalArgumentException("text " + t + " has " + texts.get(t).length
                        + " tokens, fewer than the length " + longest);
            }
        }
    }

    private static boolean isSkipped(List<SkippedCandidate> skipped, KvCandidate candidate) {
        return skipped.stream().anyMatch(s -> s.candidate().equals(candidate));
    }

    private KvCacheManager newCache(KvCandidate candidate, long maxTokens) {
        return new KvCacheManager(model.name(), model.config().kvLayout(), candidate.spec(BLOCK_SIZE, maxTokens));
    }

    /**
     * One text at one length: every candidate of {@code running} against the reference, in lock step, each in a
     * fresh cache (see the class notes).
     */
    private List<RunMeasurement> runText(ForwardState state, int textIndex, int[] text, List<KvCandidate> running) {
        List<KvCacheManager> caches = new ArrayList<>(running.size() + 1);
        try {
            // Each lane holds at most the text, or its prompt and the greedy tokens: sized by them, never by the
            // context length, which a model file may set to 2^31 - 1.
            long lane = Math.max(text.length, (long) promptLength(text.length) + greedyTokens);
            long tokens = (LANES_PER_CANDIDATE + COMPACTION_SEQUENCES) * Math.ceilDiv(lane, BLOCK_SIZE) * BLOCK_SIZE;
            caches.add(newCache(KvCandidate.REFERENCE, tokens));
            for (KvCandidate candidate : running) {
                caches.add(newCache(candidate, tokens));
            }
            return runText(state, textIndex, text, running, caches);
        } finally {
            caches.forEach(KvCacheManager::close);
        }
    }

    /** As above, with {@code caches}: the reference's, then one per candidate of {@code running}. */
    private List<RunMeasurement> runText(ForwardState state, int textIndex, int[] text, List<KvCandidate> running,
                                         List<KvCacheManager> caches) {
        int length = text.length;
        int promptLength = promptLength(length);
        int[] prompt = Arrays.copyOf(text, promptLength);
        int forced = length - promptLength;
        int greedy = Math.min(greedyTokens, model.config().contextLength() - promptLength + 1);
        int vocabulary = model.config().vocabularySize();
        try (LockStepBatch batch = new LockStepBatch(model, state)) {
            List<Pair> pairs = new ArrayList<>();
            UnaryOperator<KvStore> same = UnaryOperator.identity();
            KvCacheManager reference = caches.getFirst();
            pairs.add(new Pair(KvCandidate.REFERENCE, batch.add(reference, prompt, forced, same),
                    batch.add(reference, prompt, greedy, same), greedy));
            for (int i = 0; i < running.size(); i++) {
                KvCacheManager cache = caches.get(i + 1);
                pairs.add(new Pair(running.get(i), batch.add(cache, prompt, forced, candidateView),
                        batch.add(cache, prompt, greedy, candidateView), greedy));
            }
            Pair ref = pairs.getFirst();
            List<Pair> compared = pairs.subList(1, pairs.size());
            Comparison[] comparisons = new Comparison[compared.size()];
            Arrays.setAll(comparisons, i -> new Comparison(vocabulary));
            double[] referenceLog = new double[vocabulary];
            double referenceNll = 0;
            batch.prefill();
            List<LockStepBatch.Lane> stepped = new ArrayList<>();
            int[] stepTokens = new int[LANES_PER_CANDIDATE * pairs.size()];
            for (int step = 0; ; step++) {
                stepped.clear();
                if (step < forced) {
                    int truth = text[promptLength + step];
                    referenceNll += compareForced(ref, compared, comparisons, referenceLog, truth);
                    if (step + 1 < forced) {
                        for (Pair pair : pairs) {
                            stepTokens[stepped.size()] = truth;
                            stepped.add(pair.forced);
                        }
                    }
                }
                for (Pair pair : pairs) {
                    if (pair.chooseGreedy(model)) {
                        stepTokens[stepped.size()] = pair.lastGreedy();
                        stepped.add(pair.greedy);
                    }
                }
                if (stepped.isEmpty()) {
                    break;
                }
                batch.decode(stepped, stepTokens);
            }
            List<RunMeasurement> measurements = new ArrayList<>(compared.size());
            for (int i = 0; i < comparisons.length; i++) {
                Pair pair = compared.get(i);
                measurements.add(comparisons[i].measurement(pair.candidate, textIndex, length, referenceNll, greedy,
                        firstDivergence(ref.greedyTokens(), pair.greedyTokens())));
            }
            return measurements;
        }
    }

    /**
     * Compares every candidate's forced lane with the reference's at one position whose true next token is
     * {@code truth}; returns the reference's negative log-likelihood of it.
     */
    private static double compareForced(Pair ref, List<Pair> compared, Comparison[] comparisons,
                                        double[] referenceLog, int truth) {
        float[] referenceLogits = ref.forced.logits();
        int vocabulary = referenceLogits.length;
        TokenDistributions.logSoftmax(referenceLogits, 0, vocabulary, referenceLog);
        int referenceTop = Sampler.argmax(referenceLogits, 0, vocabulary);
        for (int i = 0; i < comparisons.length; i++) {
            comparisons[i].add(referenceLog, referenceTop, compared.get(i).forced.logits(), truth);
        }
        return -referenceLog[truth];
    }

    /** Index of the first greedy token that differs (an ended run differs from one that goes on). */
    static int firstDivergence(int[] reference, int[] candidate) {
        int common = Math.min(reference.length, candidate.length);
        for (int i = 0; i < common; i++) {
            if (reference[i] != candidate[i]) {
                return i;
            }
        }
        return reference.length == candidate.length ? RunMeasurement.NO_DIVERGENCE : common;
    }

    private QualityReport report(int textCount, List<RunMeasurement> runs, Map<KvCandidate, KvCacheManager> caches,
                                 List<SkippedCandidate> skipped) {
        KvLayout layout = model.config().kvLayout();
        List<QualityRow> overall = new ArrayList<>();
        List<QualityRow> perLength = new ArrayList<>();
        caches.forEach((candidate, cache) -> {
            List<RunMeasurement> own = runs.stream().filter(r -> r.candidate().equals(candidate)).toList();
            overall.add(row(candidate, QualityRow.ALL_LENGTHS, own, cache, layout));
        });
        for (int length : lengths) {
            caches.forEach((candidate, cache) -> {
                List<RunMeasurement> own = runs.stream()
                        .filter(r -> r.candidate().equals(candidate) && r.length() == length).toList();
                if (!own.isEmpty()) {
                    perLength.add(row(candidate, length, own, cache, layout));
                }
            });
        }
        return new QualityReport(model.name(), lengths, textCount, greedyTokens, overall, perLength, skipped, runs);
    }

    private QualityRow row(KvCandidate candidate, int length, List<RunMeasurement> runs, KvCacheManager cache,
                           KvLayout layout) {
        int sequence = length == QualityRow.ALL_LENGTHS ? model.config().contextLength() : length;
        double bytes = cache.kvBytesPerToken(sequence);
        return new QualityRow(candidate, length, QualityStats.of(runs), bytes, bytes / layout.float32BytesPerToken(),
                bytes * Byte.SIZE / (2.0 * layout.layers() * layout.kvDim()));
    }

    /** A cache setting's two lanes in one run, and the tokens its greedy lane chose. */
    private static final class Pair {
        private final KvCandidate candidate;
        private final LockStepBatch.Lane forced;
        private final LockStepBatch.Lane greedy;
        private final int[] chosen;
        private int count;
        private boolean ended;

        Pair(KvCandidate candidate, LockStepBatch.Lane forced, LockStepBatch.Lane greedy, int greedyTokens) {
            this.candidate = candidate;
            this.forced = forced;
            this.greedy = greedy;
            this.chosen = new int[greedyTokens];
        }

        /**
         * Takes the greedy lane's next token unless it has ended; returns whether that token must now be run
         * (not the last one wanted, and not the end of the sequence).
         */
        boolean chooseGreedy(LlamaModel model) {
            if (ended) {
                return false;
            }
            int token = Sampler.argmax(greedy.logits(), 0, greedy.logits().length);
            chosen[count++] = token;
            ended = count == chosen.length || token == model.tokenizer().eosId()
                    || token == model.tokenizer().bosId();
            return !ended;
        }

        int lastGreedy() {
            return chosen[count - 1];
        }

        int[] greedyTokens() {
            return Arrays.copyOf(chosen, count);
        }
    }

    /** The running sums of one candidate's forced positions against the reference. */
    private static final class Comparison {
        private final double[] candidateLog;
        private int positions;
        private double klSum;
        private double klMax;
        private int top1Matches;
        private double nll;

        Comparison(int vocabulary) {
            this.candidateLog = new double[vocabulary];
        }

        void add(double[] referenceLog, int referenceTop, float[] candidateLogits, int truth) {
            int n = candidateLog.length;
            TokenDistributions.logSoftmax(candidateLogits, 0, n, candidateLog);
            double kl = TokenDistributions.klDivergence(referenceLog, candidateLog, n);
            klSum += kl;
            klMax = Math.max(klMax, kl);
            if (Sampler.argmax(candidateLogits, 0, n) == referenceTop) {
                top1Matches++;
            }
            nll -= candidateLog[truth];
            positions++;
        }

        RunMeasurement measurement(KvCandidate candidate, int text, int length, double referenceNll,
                                   int greedyTokens, int firstDivergence) {
            return new RunMeasurement(candidate, text, length, positions, klSum, klMax, top1Matches, nll,
                    referenceNll, greedyTokens, firstDivergence);
        }
    }
}
