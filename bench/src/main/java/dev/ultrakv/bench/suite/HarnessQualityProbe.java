package dev.ultrakv.bench.suite;

import dev.ultrakv.KVCacheConfig;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.quality.KvCandidate;
import dev.ultrakv.quality.QualityHarness;
import dev.ultrakv.quality.QualityReport;
import dev.ultrakv.quality.QualityRow;
import dev.ultrakv.quality.QualityTexts;

import java.util.List;

/**
 * The configurations benchmark's quality figures from the {@link QualityHarness}: the configuration's cache (its
 * codec and compression) teacher-forced over the shipped stories beside a float32, uncompressed cache.
 */
public final class HarnessQualityProbe implements QualityProbe {
    private final int texts;

    /** @param texts stories to run (1 to 12): one for a quick look, four for the figures in BENCHMARKS.md */
    public HarnessQualityProbe(int texts) {
        this.texts = texts;
    }

    @Override
    public QualityFigures measure(KVCacheConfig config) {
        KvCandidate candidate = new KvCandidate(config.codec(), config.compression());
        try (LlamaModel model = config.model().load()) {
            int context = model.config().contextLength();
            List<Integer> lengths = QualityHarness.DEFAULT_LENGTHS.stream().filter(n -> n <= context).toList();
            if (lengths.isEmpty() || lengths.stream().noneMatch(n -> QualityHarness.runsAt(candidate, n))) {
                return QualityFigures.notMeasured("the model's context (" + context + ") is too short for "
                        + candidate.label());
            }
            QualityReport report = new QualityHarness(model, lengths, QualityHarness.DEFAULT_GREEDY_TOKENS)
                    .run(QualityTexts.tokenized(model.tokenizer(), texts), List.of(candidate));
            QualityRow row = report.row(candidate);
            var stats = row.stats();
            return new QualityFigures(true, stats.meanKl(), stats.top1Agreement(), stats.perplexity(),
                    stats.referencePerplexity(), "ultrakv quality: " + candidate.label() + ", " + texts
                    + " stories at lengths " + lengths + " (compressed caches where the prompt has at least "
                    + QualityHarness.MIN_COMPRESSED_PROMPT + " tokens)");
        }
    }
}
