package dev.ultrakv.quality;

import dev.ultrakv.kvcache.KvCacheSpec;
import dev.ultrakv.kvcache.codec.KvCodecKind;
import dev.ultrakv.kvcache.compress.CompressionMethod;
import dev.ultrakv.kvcache.compress.KvCompression;
import dev.ultrakv.kvcache.policy.PolicyKind;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * One KV cache setting whose output the quality harness compares with the reference's: a codec and a compression.
 *
 * @param codec       how the cache stores keys and values
 * @param compression how the cache thins a sequence ({@link KvCompression#NONE} keeps every position)
 */
public record KvCandidate(KvCodecKind codec, KvCompression compression) {
    /** The reference every candidate is compared with: float32, nothing dropped. */
    public static final KvCandidate REFERENCE = new KvCandidate(KvCodecKind.F32, KvCompression.NONE);

    public KvCandidate {
        Objects.requireNonNull(codec, "codec");
        Objects.requireNonNull(compression, "compression");
    }

    /** The codec alone, nothing dropped. */
    public static KvCandidate of(KvCodecKind codec) {
        return new KvCandidate(codec, KvCompression.NONE);
    }

    /**
     * Each codec uncompressed, then each method at each ratio over float32 blocks: every effect alone, the
     * default grid of {@code ultrakv quality}. Ratios of 1 compress nothing and add no candidate; duplicates are
     * dropped.
     */
    public static List<KvCandidate> separate(List<KvCodecKind> codecs, List<CompressionMethod> methods,
                                             List<Double> ratios) {
        return grid(codecs, methods, ratios, List.of(KvCodecKind.F32));
    }

    /**
     * Each codec uncompressed, then every codec under every method and ratio (method, then ratio, then codec):
     * the effects together, {@code ultrakv quality --combine}. Ratios of 1 add nothing; duplicates are dropped.
     */
    public static List<KvCandidate> combined(List<KvCodecKind> codecs, List<CompressionMethod> methods,
                                             List<Double> ratios) {
        return grid(codecs, methods, ratios, codecs);
    }

    private static List<KvCandidate> grid(List<KvCodecKind> codecs, List<CompressionMethod> methods,
                                          List<Double> ratios, List<KvCodecKind> compressedCodecs) {
        List<KvCandidate> grid = new ArrayList<>();
        for (KvCodecKind codec : codecs) {
            addOnce(grid, of(codec));
        }
        for (CompressionMethod method : methods) {
            for (double ratio : ratios) {
                if (ratio == 1) {
                    continue;
                }
                for (KvCodecKind codec : compressedCodecs) {
                    addOnce(grid, new KvCandidate(codec, new KvCompression(method, ratio)));
                }
            }
        }
        return List.copyOf(grid);
    }

    private static void addOnce(List<KvCandidate> grid, KvCandidate candidate) {
        if (!grid.contains(candidate)) {
            grid.add(candidate);
        }
    }

    /** Whether the cache drops positions. */
    public boolean isCompressed() {
        return compression.isEnabled();
    }

    /** The cache of this setting: {@code maxTokens} positions in blocks of {@code blockSize}. */
    public KvCacheSpec spec(int blockSize, long maxTokens) {
        return KvCacheSpec.ofTokens(blockSize, maxTokens, PolicyKind.LRU).withCodec(codec)
                .withCompression(compression);
    }

    /** A short name for tables: {@code int4}, or {@code int4 h2o@0.5} when compressed. */
    public String label() {
        String name = codec.name().toLowerCase(Locale.ROOT);
        if (!isCompressed()) {
            return name;
        }
        return name + " " + compression.method().name().toLowerCase(Locale.ROOT) + "@"
                + BigDecimal.valueOf(compression.ratio()).stripTrailingZeros().toPlainString();
    }

    @Override
    public String toString() {
        return label();
    }
}
