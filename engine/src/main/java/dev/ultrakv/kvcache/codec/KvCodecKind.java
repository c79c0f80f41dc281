package dev.ultrakv.kvcache.codec;

/**
 * How cached keys and values are stored: float32 as the model computes them, float16, or integers of 8, 4 or 2
 * bits with a scale (and a minimum) per group of a head's channels. See {@link KvCodec}.
 */
public enum KvCodecKind {
    /** float32: exact, the reference. */
    F32(32),
    /** IEEE float16 per value. */
    F16(16),
    /** 8-bit integers, symmetric, one float16 scale per group. */
    INT8(8),
    /**
     * 4-bit integers: keys per channel over each block ({@link ChannelKeyCodec}), values zero-centred with a
     * float16 scale per group ({@link KvCodecs#values}). {@link KvCodecs#of} alone is the per-slot asymmetric
     * codec (a float16 scale and minimum per group), for keys and values alike.
     */
    INT4(4),
    /** 2-bit integers, stored as {@link #INT4} is. */
    INT2(2);

    private final int bits;

    KvCodecKind(int bits) {
        this.bits = bits;
    }

    /** Bits of one stored code, without the scales. */
    public int bits() {
        return bits;
    }

    /**
     * The integer codec of {@code bits} bits: the meaning of {@code quantizationBits} in the public configuration.
     *
     * @throws IllegalArgumentException unless {@code bits} is 2, 4 or 8
     */
    public static KvCodecKind forQuantizationBits(int bits) {
        return switch (bits) {
            case 8 -> INT8;
            case 4 -> INT4;
            case 2 -> INT2;
            default -> throw new IllegalArgumentException("quantizationBits must be 2, 4 or 8: " + bits);
        };
    }
}
