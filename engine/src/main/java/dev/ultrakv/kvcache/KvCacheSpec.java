package dev.ultrakv.kvcache;

import dev.ultrakv.kvcache.codec.KvCodecKind;
import dev.ultrakv.kvcache.compress.KvCompression;
import dev.ultrakv.kvcache.policy.PolicyKind;

import java.util.Objects;

/**
 * What a {@link KvCacheManager} is made of: its size (positions, or a byte budget), block size, eviction policy,
 * the codec its blocks are stored in and the compression of its sequences.
 *
 * @param blockSize      positions per block, a power of two
 * @param maxTokens      positions the pool holds, rounded up to whole blocks; used when {@code maxMemoryBytes} is 0
 * @param maxMemoryBytes if positive, the pool holds as many blocks as fit in this many bytes instead
 * @param policy         eviction policy of the prefix index
 * @param codec          how blocks store keys and values
 * @param compression    how sequences are thinned
 */
public record KvCacheSpec(int blockSize, long maxTokens, long maxMemoryBytes, PolicyKind policy, KvCodecKind codec,
                          KvCompression compression) {

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
    }

    /** A float32, uncompressed cache of {@code maxTokens} positions. */
    public static KvCacheSpec ofTokens(int blockSize, long maxTokens, PolicyKind policy) {
        return new KvCacheSpec(blockSize, maxTokens, 0, policy, KvCodecKind.F32, KvCompression.NONE);
    }

    /** This spec with another codec. */
    public KvCacheSpec withCodec(KvCodecKind codec) {
        return new KvCacheSpec(blockSize, maxTokens, maxMemoryBytes, policy, codec, compression);
    }

    /** This spec with another compression. */
    public KvCacheSpec withCompression(KvCompression compression) {
        return new KvCacheSpec(blockSize, maxTokens, maxMemoryBytes, policy, codec, compression);
    }
}
