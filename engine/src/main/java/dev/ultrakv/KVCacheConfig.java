package dev.ultrakv;

import dev.ultrakv.kvcache.KvBlockLayout;
import dev.ultrakv.kvcache.KvLayout;
import dev.ultrakv.kvcache.KvMemoryLimits;
import dev.ultrakv.kvcache.codec.KvCodecKind;
import dev.ultrakv.kvcache.compress.CompressionMethod;
import dev.ultrakv.kvcache.compress.KvCompression;
import dev.ultrakv.kvcache.tier.KvTier;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * How an {@link UltraAdaptiveKVCacheEngine} is set up: the model, the KV cache's size (in positions or in bytes)
 * and block size, its eviction strategy, and how the cached keys and values are stored: quantized to 8, 4 or 2
 * bits, and compressed (only a fraction of each sequence's positions kept). Immutable; built and checked by
 * {@link #builder()}.
 *
 * <pre>{@code
 * KVCacheConfig config = KVCacheConfig.builder()
 *     .maxTokens(8192).cacheStrategy(CacheStrategy.ADAPTIVE).blockSize(16)
 *     .model(ModelSource.embedded())
 *     .build();
 * }</pre>
 */
public final class KVCacheConfig {
    /** Positions the cache holds unless asked otherwise: 8192, enough for dozens of small-model prompts. */
    public static final int DEFAULT_MAX_TOKENS = 8192;
    /** Positions per block unless asked otherwise: vLLM's default, a good balance of sharing and table size. */
    public static final int DEFAULT_BLOCK_SIZE = 16;
    /** Fraction of the KV entries compression would keep unless asked otherwise. */
    public static final double DEFAULT_COMPRESSION_RATIO = 0.3;
    /** Bits per cached value quantization uses unless asked otherwise: int8, nearly lossless. */
    public static final int DEFAULT_QUANTIZATION_BITS = 8;
    /** Which positions compression keeps unless asked otherwise: the best method at ratio 0.3 in BENCHMARKS.md. */
    public static final CompressionMethod DEFAULT_COMPRESSION_METHOD = CompressionMethod.SNAPKV;
    /**
     * How long a request waits for its blocks from the tiers unless asked otherwise: well above a disk read or a
     * Redis round trip, well below recomputing a long prompt on a CPU; past it the request recomputes.
     */
    public static final Duration DEFAULT_TIER_LOAD_TIMEOUT = Duration.ofSeconds(2);

    private final int maxTokens;
    private final long maxMemoryBytes;
    private final CacheStrategy cacheStrategy;
    private final int blockSize;
    private final boolean useCompression;
    private final double compressionRatio;
    private final CompressionMethod compressionMethod;
    private final boolean useQuantization;
    private final int quantizationBits;
    private final ModelSource model;
    private final List<KvTier> tiers;
    private final Duration tierLoadTimeout;

    private KVCacheConfig(Builder b) {
        this.maxTokens = b.maxTokens;
        this.maxMemoryBytes = b.maxMemoryBytes;
        this.cacheStrategy = b.cacheStrategy;
        this.blockSize = b.blockSize;
        this.useCompression = b.useCompression;
        this.compressionRatio = b.compressionRatio;
        this.compressionMethod = b.compressionMethod;
        this.useQuantization = b.useQuantization;
        this.quantizationBits = b.quantizationBits;
        this.model = b.model;
        this.tiers = List.copyOf(b.tiers);
        this.tierLoadTimeout = b.tierLoadTimeout;
    }

    /** A builder with the defaults: 8192 tokens, ADAPTIVE, blocks of 16, the embedded model, no compression. */
    public static Builder builder() {
        return new Builder();
    }

    /** Positions (tokens) of keys and values the cache holds, over all requests; rounded up to whole blocks. */
    public int maxTokens() {
        return maxTokens;
    }

    /**
     * The KV cache's byte budget, or 0 when it is sized by {@link #maxTokens()}. With a budget the cache holds as
     * many blocks as fit: quantized blocks are smaller, so it holds more positions.
     */
    public long maxMemoryBytes() {
        return maxMemoryBytes;
    }

    /** The eviction strategy. */
    public CacheStrategy cacheStrategy() {
        return cacheStrategy;
    }

    /** Positions per KV block, the unit of sharing and eviction; a power of two. */
    public int blockSize() {
        return blockSize;
    }

    /**
     * Whether each sequence keeps only {@link #compressionRatio()} of its positions' keys and values, chosen by
     * {@link #compressionMethod()}, once its prompt is computed and as it generates.
     */
    public boolean useCompression() {
        return useCompression;
    }

    /** Fraction of each sequence's positions whose keys and values compression keeps, in (0, 1]. */
    public double compressionRatio() {
        return compressionRatio;
    }

    /** Which positions compression keeps. */
    public CompressionMethod compressionMethod() {
        return compressionMethod;
    }

    /** Whether cached keys and values are stored as {@link #quantizationBits()}-bit integers with scales. */
    public boolean useQuantization() {
        return useQuantization;
    }

    /** Bits per quantized value: 2, 4 or 8. */
    public int quantizationBits() {
        return quantizationBits;
    }

    /** The codec the cache's blocks are stored in: float32, or the integer codec of {@link #quantizationBits()}. */
    public KvCodecKind codec() {
        return useQuantization ? KvCodecKind.forQuantizationBits(quantizationBits) : KvCodecKind.F32;
    }

    /** The compression of each sequence: {@link #compressionMethod()} at {@link #compressionRatio()}, or none. */
    public KvCompression compression() {
        return useCompression ? new KvCompression(compressionMethod, compressionRatio) : KvCompression.NONE;
    }

    /** Where the model comes from. */
    public ModelSource model() {
        return model;
    }

    /**
     * The KV tiers below the memory pool, in the order they are asked for blocks (e.g. disk, then Redis); empty
     * when none were added. The engine built from this configuration owns them and closes them when it closes.
     */
    public List<KvTier> tiers() {
        return tiers;
    }

    /** How long a request waits for its blocks from the tiers before it recomputes them. */
    public Duration tierLoadTimeout() {
        return tierLoadTimeout;
    }

    @Override
    public String toString() {
        return "KVCacheConfig[" + (maxMemoryBytes > 0 ? "maxMemoryBytes " + maxMemoryBytes
                : "maxTokens " + maxTokens) + ", " + cacheStrategy + ", blockSize " + blockSize
                + ", compression " + (useCompression ? compressionMethod + " " + compressionRatio : "off")
                + ", quantization " + (useQuantization ? quantizationBits + " bits" : "off") + ", model " + model
                + (tiers.isEmpty() ? "" : ", tiers " + tiers.stream().map(KvTier::name).toList()) + "]";
    }

    /** Builds a {@link KVCacheConfig}; {@link #build()} checks the values. */
    public static final class Builder {
        private int maxTokens = DEFAULT_MAX_TOKENS;
        private long maxMemoryBytes;
        private CacheStrategy cacheStrategy = CacheStrategy.ADAPTIVE;
        private int blockSize = DEFAULT_BLOCK_SIZE;
        private boolean useCompression;
        private double compressionRatio = DEFAULT_COMPRESSION_RATIO;
        private CompressionMethod compressionMethod = DEFAULT_COMPRESSION_METHOD;
        private boolean useQuantization;
        private int quantizationBits = DEFAULT_QUANTIZATION_BITS;
        private ModelSource model = ModelSource.embedded();
        private final List<KvTier> tiers = new ArrayList<>();
        private Duration tierLoadTimeout = DEFAULT_TIER_LOAD_TIMEOUT;

        private Builder() {
        }

        /** Positions the cache holds, positive. */
        public Builder maxTokens(int maxTokens) {
            this.maxTokens = maxTokens;
            return this;
        }

        /** A byte budget for the KV cache instead of {@link #maxTokens}; 0 (the default) sizes it by tokens. */
        public Builder maxMemoryBytes(long maxMemoryBytes) {
            this.maxMemoryBytes = maxMemoryBytes;
            return this;
        }

        /** The eviction strategy. */
        public Builder cacheStrategy(CacheStrategy cacheStrategy) {
            this.cacheStrategy = Objects.requireNonNull(cacheStrategy, "cacheStrategy");
            return this;
        }

        /** Positions per block, a power of two. */
        public Builder blockSize(int blockSize) {
            this.blockSize = blockSize;
            return this;
        }

        /** Whether to compress each sequence's keys and values. */
        public Builder useCompression(boolean useCompression) {
            this.useCompression = useCompression;
            return this;
        }

        /** Fraction of each sequence's positions compression keeps, in (0, 1]. */
        public Builder compressionRatio(double compressionRatio) {
            this.compressionRatio = compressionRatio;
            return this;
        }

        /** Which positions compression keeps. */
        public Builder compressionMethod(CompressionMethod compressionMethod) {
            this.compressionMethod = Objects.requireNonNull(compressionMethod, "compressionMethod");
            return this;
        }

        /** Whether to store cached keys and values as integers of {@link #quantizationBits} bits. */
        public Builder useQuantization(boolean useQuantization) {
            this.useQuantization = useQuantization;
            return this;
        }

        /** Bits per quantized value: 2, 4 or 8. */
        public Builder quantizationBits(int quantizationBits) {
            this.quantizationBits = quantizationBits;
            return this;
        }

        /** Where the model comes from. */
        public Builder model(ModelSource model) {
            this.model = Objects.requireNonNull(model, "model");
            return this;
        }

        /**
         * Adds a KV tier below the memory pool, after those added before: blocks are offered to every tier when
         * they enter the prefix cache, and a request whose prompt runs past its memory-resident prefix asks the
         * tiers in this order for the blocks that follow (docs/kv-tiers.md). The engine built from the
         * configuration owns the tier: it closes it when the engine closes, or when the engine fails to start. So a
         * configuration with tiers starts one engine; engines that share a store (one Redis) each get their own
         * tier over it.
         */
        public Builder addTier(KvTier tier) {
            tiers.add(Objects.requireNonNull(tier, "tier"));
            return this;
        }

        /** How long a request waits for its blocks from the tiers before it recomputes them; positive. */
        public Builder tierLoadTimeout(Duration tierLoadTimeout) {
            this.tierLoadTimeout = Objects.requireNonNull(tierLoadTimeout, "tierLoadTimeout");
            return this;
        }

        /**
         * The configuration.
         *
         * @throws IllegalArgumentException naming the value: {@code maxTokens <= 0}, {@code maxMemoryBytes < 0}, a
         *                                  block size that is not a power of two or above
         *                                  {@value KvBlockLayout#MAX_BLOCK_SIZE}, a compression ratio outside
         *                                  (0, 1], quantization bits other than 2, 4 or 8, a codec that cannot
         *                                  store the model's heads, or a cache larger than the memory the
         *                                  machine can give ({@link KvMemoryLimits}; checked here when the
         *                                  model's shape is known without loading it, and for model files when
         *                                  the engine starts, before anything is allocated), the same tier
         *                                  added twice, or a tier load timeout that is not positive
         */
        public KVCacheConfig build() {
            if (maxTokens <= 0) {
                throw new IllegalArgumentException("maxTokens must be positive: " + maxTokens);
            }
            if (maxMemoryBytes < 0) {
                throw new IllegalArgumentException("maxMemoryBytes must be >= 0 (0: size by maxTokens): "
                        + maxMemoryBytes);
            }
            if (blockSize <= 0 || Integer.bitCount(blockSize) != 1) {
                throw new IllegalArgumentException("blockSize must be a power of two: " + blockSize);
            }
            if (blockSize > KvBlockLayout.MAX_BLOCK_SIZE) {
                throw new IllegalArgumentException("blockSize must be at most " + KvBlockLayout.MAX_BLOCK_SIZE
                        + ": " + blockSize);
            }
            if (maxMemoryBytes > KvMemoryLimits.offHeapBytes()) {
                throw new IllegalArgumentException("maxMemoryBytes " + maxMemoryBytes + " is more than the "
                        + KvMemoryLimits.offHeapBytes() + " bytes this machine can give besides the Java heap");
            }
            if (!(compressionRatio > 0 && compressionRatio <= 1)) {
                throw new IllegalArgumentException("compressionRatio must be in (0, 1]: " + compressionRatio);
            }
            if (quantizationBits != 2 && quantizationBits != 4 && quantizationBits != 8) {
                throw new IllegalArgumentException("quantizationBits must be 2, 4 or 8: " + quantizationBits);
            }
            Set<KvTier> distinct = Collections.newSetFromMap(new IdentityHashMap<>());
            for (int i = 0; i < tiers.size(); i++) {
                if (!distinct.add(tiers.get(i))) {
                    throw new IllegalArgumentException("tier " + i + " (" + tiers.get(i).name()
                            + ") was added before: a tier is asked once per load");
                }
            }
            if (tierLoadTimeout.isNegative() || tierLoadTimeout.isZero()) {
                throw new IllegalArgumentException("tierLoadTimeout must be positive: " + tierLoadTimeout);
            }
            KVCacheConfig config = new KVCacheConfig(this);
            model.kvLayout().ifPresent(layout -> checkMemory(config, layout));
            return config;
        }

        /** The blocks the configuration asks of a model of {@code layout} must fit in memory. */
        private static void checkMemory(KVCacheConfig config, KvLayout layout) {
            KvBlockLayout blocks = KvBlockLayout.of(layout, config.blockSize, config.codec());
            if (config.maxMemoryBytes > 0) {
                KvMemoryLimits.check(blocks, config.maxMemoryBytes / blocks.blockBytes(),
                        "maxMemoryBytes " + config.maxMemoryBytes);
            } else {
                KvMemoryLimits.check(blocks, Math.ceilDiv((long) config.maxTokens, config.blockSize),
                        "maxTokens " + config.maxTokens);
            }
        }
    }
}
