package dev.ultrakv.kvcache.codec;

import java.util.Objects;

/**
 * The codecs, stateless instances: one slot codec per {@link KvCodecKind} ({@link #of}), and for INT4 and INT2
 * the per-channel key codec ({@link #channelKeys}) and the zero-centred value codec ({@link #values}) that an
 * INT4 or INT2 cache stores its keys and values in.
 *
 * <p>Bytes per slot and bits per value (codes plus scales) of {@link #of} at {@code headSize} 64 (a cache of
 * INT4 stores keys at 4.80 and values at 4.25 bits per value, INT2 at 2.80 and 2.25; see {@link ChannelKeyCodec}):
 * <table>
 *   <caption>Slot sizes</caption>
 *   <tr><th>kind</th><th>bytes per slot</th><th>bits per value</th></tr>
 *   <tr><td>F32</td><td>256</td><td>32</td></tr>
 *   <tr><td>F16</td><td>128</td><td>16</td></tr>
 *   <tr><td>INT8</td><td>66</td><td>8.25</td></tr>
 *   <tr><td>INT4</td><td>36</td><td>4.5</td></tr>
 *   <tr><td>INT2</td><td>20</td><td>2.5</td></tr>
 * </table>
 */
public final class KvCodecs {
    private KvCodecs() {
    }

    /** The codec of {@code kind}; the same instance on every call. */
    public static KvCodec of(KvCodecKind kind) {
        return switch (Objects.requireNonNull(kind, "kind")) {
            case F32 -> Float32Codec.INSTANCE;
            case F16 -> Float16Codec.INSTANCE;
            case INT8 -> Int8Codec.INSTANCE;
            case INT4 -> Int4Codec.INSTANCE;
            case INT2 -> Int2Codec.INSTANCE;
        };
    }

    /**
     * The per-channel key codec of a cache of {@code kind}: INT4 and INT2 caches store keys per channel over each
     * block (see {@link ChannelKeyCodec}); null for the others, whose keys are slots of {@link #of}.
     */
    public static ChannelKeyCodec channelKeys(KvCodecKind kind) {
        return switch (Objects.requireNonNull(kind, "kind")) {
            case INT4 -> ChannelKeyCodec.INT4;
            case INT2 -> ChannelKeyCodec.INT2;
            case F32, F16, INT8 -> null;
        };
    }

    /**
     * The slot codec of a cache's values: zero-centred INT4 or INT2 (one float16 scale per group, 4.25 and 2.25
     * bits per value at {@code headSize} 64) where keys are per channel, so that keys and values together stay in
     * the byte budget; {@link #of} otherwise.
     */
    public static KvCodec values(KvCodecKind kind) {
        return switch (Objects.requireNonNull(kind, "kind")) {
            case INT4 -> Int4Codec.CENTRED;
            case INT2 -> Int2Codec.CENTRED;
            case F32, F16, INT8 -> of(kind);
        };
    }

    /**
     * Bits stored per value, scales included: {@code 8 × slotBytes(headSize) / headSize}.
     *
     * @throws IllegalArgumentException if the codec cannot store heads of this size
     */
    public static double bitsPerValue(KvCodec codec, int headSize) {
        return (double) Byte.SIZE * codec.slotBytes(headSize) / headSize;
    }
}
