package dev.ultrakv;

import java.util.Objects;

/**
 * How an {@link UltraAdaptiveKVCacheEngine} is set up: the model, the KV cache's size and block size, its
 * eviction strategy, and (not yet implemented) compression and quantization of the cached keys and values.
 * Immutable; built and checked by {@link #builder()}.
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
    /** Bits per cached value quantization would use unless asked otherwise: int8, nearly lossless. */
    public static final int DEFAULT_QUANTIZATION_BITS = 8;

    private final int maxTokens;
    private final CacheStrategy cacheStrategy;
    private final int blockSize;
    private final boolean useCompression;
    private final double compressionRatio;
    private final boolean useQuantization;
    private final int quantizationBits;
    private final ModelSource model;

    private KVCacheConfig(Builder b) {
        this.maxTokens = b.maxTokens;
        this.cacheStrategy = b.cacheStrategy;
        this.blockSize = b.blockSize;
        this.useCompression = b.useCompression;
        this.compressionRatio = b.compressionRatio;
        this.useQuantization = b.useQuantization;
        this.quantizationBits = b.quantizationBits;
        this.model = b.model;
    }

    /** A builder with the defaults: 8192 tokens, ADAPTIVE, blocks of 16, the embedded model, no compression. */
    public static Builder builder() {
        return new Builder();
    }

    /** Positions (tokens) of keys and values the cache holds, over all requests; rounded up to whole blocks. */
    public int maxTokens() {
        return maxTokens;
    }

    /** The eviction strategy. */
    public CacheStrategy cacheStrategy() {
        return cacheStrategy;
    }

    /** Positions per KV block, the unit of sharing and eviction; a power of two. */
    public int blockSize() {
        return blockSize;
    }

    /** Whether to compress the cache (not implemented yet: the engine refuses it). */
    public boolean useCompression() {
        return useCompression;
    }

    /** Fraction of the KV entries compression keeps, in (0, 1]. */
    public double compressionRatio() {
        return compressionRatio;
    }

    /** Whether to quantize cached keys and values (not implemented yet: the engine refuses it). */
    public boolean useQuantization() {
        return useQuantization;
    }

    /** Bits per quantized value: 2, 4 or 8. */
    public int quantizationBits() {
        return quantizationBits;
    }

    /** Where the model comes from. */
    public ModelSource model() {
        return model;
    }

    @Override
    public String toString() {
        return "KVCacheConfig[maxTokens " + maxTokens + ", " + cacheStrategy + ", blockSize " + blockSize
                + ", compression " + (useCompression ? compressionRatio : "off") + ", quantization "
                + (useQuantization ? quantizationBits + " bits" : "off") + ", model " + model + "]";
    }

    /** Builds a {@link KVCacheConfig}; {@link #build()} checks the values. */
    public static final class Builder {
        private int maxTokens = DEFAULT_MAX_TOKENS;
        private CacheStrategy cacheStrategy = CacheStrategy.ADAPTIVE;
        private int blockSize = DEFAULT_BLOCK_SIZE;
        private boolean useCompression;
        private double compressionRatio = DEFAULT_COMPRESSION_RATIO;
        private boolean useQuantization;
        private int quantizationBits = DEFAULT_QUANTIZATION_BITS;
        private ModelSource model = ModelSource.embedded();

        private Builder() {
        }

        /** Positions the cache holds, positive. */
        public Builder maxTokens(int maxTokens) {
            this.maxTokens = maxTokens;
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

        /** Whether to compress the cache (refused by the engine until compression is implemented). */
        public Builder useCompression(boolean useCompression) {
            this.useCompression = useCompression;
            return this;
        }

        /** Fraction of the KV entries compression keeps, in (0, 1]. */
        public Builder compressionRatio(double compressionRatio) {
            this.compressionRatio = compressionRatio;
            return this;
        }

        /** Whether to quantize the cache (refused by the engine until quantization is implemented). */
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
         * The configuration.
         *
         * @throws IllegalArgumentException naming the value: {@code maxTokens <= 0}, a block size that is not a
         *                                  power of two, a compression ratio outside (0, 1], quantization bits
         *                                  other than 2, 4 or 8
         */
        public KVCacheConfig build() {
            if (maxTokens <= 0) {
                throw new IllegalArgumentException("maxTokens must be positive: " + maxTokens);
            }
            if (blockSize <= 0 || Integer.bitCount(blockSize) != 1) {
                throw new IllegalArgumentException("blockSize must be a power of two: " + blockSize);
            }
            if (!(compressionRatio > 0 && compressionRatio <= 1)) {
                throw new IllegalArgumentException("compressionRatio must be in (0, 1]: " + compressionRatio);
            }
            if (quantizationBits != 2 && quantizationBits != 4 && quantizationBits != 8) {
                throw new IllegalArgumentException("quantizationBits must be 2, 4 or 8: " + quantizationBits);
            }
            return new KVCacheConfig(this);
        }
    }
}
