package dev.ultrakv.kvcache;

import dev.ultrakv.kvcache.codec.KvCodecKind;
import dev.ultrakv.kvcache.compress.KvCompression;
import dev.ultrakv.kvcache.policy.PolicyKind;

import java.util.Objects;

/**
 * What a {@link KvCacheManager} is made of: its size (positions, or a byte budget), block size, eviction policy,
 * the codec its blocks are stored in, the compression of its sequences, and how far back the model's queries
 * read.
 *
 * @param blockSize      positions per block, a power of two
 * @param maxTokens      positions the pool holds, rounded up to whole blocks; used when {@code maxMemoryBytes} is 0
 * @param maxMemoryBytes if positive, the pool holds as many blocks as fit in this many bytes instead
 * @param policy         eviction policy of the prefix index
 * @param codec          how blocks store keys and values
 * @param compression    how sequences are thinned
 * @param attentionSpan  the most positions any query of the model reads, its own included: a sliding window on
 *                       every layer (Mistral, Phi-3), or {@link #FULL_ATTENTION}. A running sequence gives its
 *                       blocks older than that to the prefix index as soon as the window has passed them, so it
 *                       holds about a window's worth of blocks however long it grows.
 */
public record KvCacheSpec(int blockSize, long maxTokens, long maxMemoryBytes, PolicyKind policy, KvCodecKind codec,
                          KvCompression compression, int attentionSpan) {

    /** The {@link #attentionSpan} of a model whose queries read every earlier position on some layer. */
    public static final int FULL_ATTENTION = Integer.MAX_VALUE;

    public KvCacheSpec {
        KvBlockLayout.checkBlockSize(blockSize);
        Objects.requireNonNull(policy, "policy");
        Objects.requireNonNull(codec, "codec");
        Objects.requireNonNull(compression, "compression");
        if (maxMemoryBytes < 0) {
            throw new IllegalArgumentException("maxMemoryBytes must be >= 0 (0: size by maxTokens): " + maxMemoryBytes);
        }
        if (maxMemoryBytes == 0 && maxTokens <= 0) {
            throw new IllegalArgumentException("maxTokens must be positive: " + maxTokens);
        }
        if (attentionSpan < 1) {
            throw new IllegalArgumentException("attentionSpan must be positive: " + attentionSpan);
        }
    }

    /** A cache for a model whose queries read every earlier position ({@link #FULL_ATTENTION}). */
    public KvCacheSpec(int blockSize, long maxTokens, long maxMemoryBytes, PolicyKind policy, KvCodecKind codec,
                       KvCompression compression) {
        this(blockSize, maxTokens, maxMemoryBytes, policy, codec, compression, FULL_ATTENTION);
    }

    /** A float32, uncompressed cache of {@code maxTokens} positions. */
    public static KvCacheSpec ofTokens(int blockSize, long maxTokens, PolicyKind policy) {
        return new KvCacheSpec(blockSize, maxTokens, 0, policy, KvCodecKind.F32, KvCompression.NONE);
    }

    /** This spec with another codec. */
    public KvCacheSpec withCodec(KvCodecKind codec) {
        return new KvCacheSpec(blockSize, maxTokens, maxMemoryBytes, policy, codec, compression, attentionSpan);
    }

    /** This spec with another compression. */
    public KvCacheSpec withCompression(KvCompression compression) {
        return new KvCacheSpec(blockSize, maxTokens, maxMemoryBytes, policy, codec, compression, attentionSpan);
    }

    /** This spec for a model whose queries read at most {@code attentionSpan} positions. */
    public KvCacheSpec withAttentionSpan(int attentionSpan) {
        return new KvCacheSpec(blockSize, maxTokens, maxMemoryBytes, policy, codec, compression, attentionSpan);
    }
}
