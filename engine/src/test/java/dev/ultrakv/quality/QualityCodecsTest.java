package dev.ultrakv.quality;

import dev.ultrakv.kvcache.KvCacheManager;
import dev.ultrakv.kvcache.codec.KvCodecKind;
import dev.ultrakv.kvcache.compress.CompressionMethod;
import dev.ultrakv.kvcache.compress.KvCompression;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.ModelLoader;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The real codecs and compression methods through the harness: each loses something, fewer bits lose more,
 * and each costs fewer bytes than float32. A test is skipped (an assumption) where the cache refuses a setting
 * with UnsupportedOperationException, as it did before codecs and compression were wired in.
 */
class QualityCodecsTest {
    /**
     * 48 prompt tokens and 16 forced ones: the codecs' mean divergences lie orders of magnitude apart (about
     * 1e-7, 1e-4, 1e-2 and 1 nats on the defaults of {@code ultrakv quality}), so a short text orders them.
     */
    private static final int CODEC_LENGTH = 64;
    /** The shortest length whose prompt (258 tokens) lets compression run. */
    private static final int COMPRESSION_LENGTH = 344;
    private static final int GREEDY_TOKENS = 8;
    private static final double RATIO = 0.5;

    private static LlamaModel model;
    private static List<int[]> texts;

    @BeforeAll
    static void load() {
        model = ModelLoader.loadEmbedded();
        texts = QualityTexts.tokenized(model.tokenizer(), 1);
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** Skips the calling test unless a cache of {@code candidate} can be built. */
    private static void assumeSupported(KvCandidate candidate) {
        try (KvCacheManager cache = new KvCacheManager(model.name(), model.config().kvLayout(),
                candidate.spec(QualityHarness.BLOCK_SIZE, QualityHarness.BLOCK_SIZE))) {
            assertTrue(cache.totalBlocks() > 0);
        } catch (UnsupportedOperationException e) {
            Assumptions.abort(candidate + " is not supported yet: " + e.getMessage());
        }
    }

    @Test
    void everyCodecLosesSomething_fewerBitsLoseMore_andCostFewerBytes() {
        List<KvCandidate> codecs = List.of(KvCandidate.of(KvCodecKind.F16), KvCandidate.of(KvCodecKind.INT8),
                KvCandidate.of(KvCodecKind.INT4), KvCandidate.of(KvCodecKind.INT2));
        codecs.forEach(QualityCodecsTest::assumeSupported);
        QualityReport report = new QualityHarness(model, List.of(CODEC_LENGTH), GREEDY_TOKENS).run(texts, codecs);
        assertTrue(report.skipped().isEmpty(), report.skipped()::toString);
        QualityRow f16 = report.row(codecs.get(0));
        assertTrue(f16.stats().meanKl() >= 0 && f16.stats().top1Agreement() > 0.9, f16.toString());
        double previousKl = -1;
        double previousBits = Float.SIZE;
        for (KvCandidate codec : codecs.subList(1, codecs.size())) {
            QualityRow row = report.row(codec);
            assertTrue(row.stats().meanKl() > 0, row.toString());
            assertTrue(row.stats().meanKl() > previousKl, "fewer bits, more divergence: " + row);
            assertTrue(row.bitsPerValue() < previousBits, "fewer bits per value: " + row);
            previousKl = row.stats().meanKl();
            previousBits = row.bitsPerValue();
        }
        assertTrue(f16.bitsPerValue() < Float.SIZE, f16.toString());
    }

    @Test
    void everyCompressionMethodLosesSomethingAndKeepsFewerBytes() {
        List<KvCandidate> methods = List.of(CompressionMethod.values()).stream()
                .map(m -> new KvCandidate(KvCodecKind.F32, new KvCompression(m, RATIO))).toList();
        methods.forEach(QualityCodecsTest::assumeSupported);
        QualityReport report = new QualityHarness(model, List.of(COMPRESSION_LENGTH), GREEDY_TOKENS)
                .run(texts, methods);
        assertTrue(report.skipped().isEmpty(), report.skipped()::toString);
        for (KvCandidate method : methods) {
            QualityRow row = report.row(method);
            assertTrue(row.stats().meanKl() > 0, row.toString());
            assertTrue(row.float32Fraction() < 1, "a compressed sequence keeps fewer bytes: " + row);
        }
    }
}
