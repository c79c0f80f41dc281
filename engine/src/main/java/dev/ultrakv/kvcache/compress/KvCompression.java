package dev.ultrakv.kvcache.compress;

import java.util.Objects;

/**
 * Whether and how a sequence's K/V entries are thinned: {@code method} chooses which entries stay, {@code ratio}
 * is the fraction of the sequence's positions kept.
 *
 * @param method which entries stay; ignored when {@code ratio} is 1
 * @param ratio  fraction of positions kept, in (0, 1]; 1 keeps everything ({@link #NONE})
 */
public record KvCompression(CompressionMethod method, double ratio) {
    /** No compression: every position's K/V is kept. */
    public static final KvCompression NONE = new KvCompression(CompressionMethod.STREAMING, 1.0);

    public KvCompression {
        Objects.requireNonNull(method, "method");
        if (!(ratio > 0 && ratio <= 1)) {
            throw new IllegalArgumentException("compression ratio must be in (0, 1]: " + ratio);
        }
    }

    /** Whether entries are ever dropped. */
    public boolean isEnabled() {
        return ratio < 1;
    }

    @Override
    public String toString() {
        return isEnabled() ? method + "@" + ratio : "none";
    }
}
