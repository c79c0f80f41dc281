package dev.ultrakv.kvcache.codec;

/** The codecs by kind (placeholder until the codec implementations land: float32 only). */
public final class KvCodecs {
    private KvCodecs() {
    }

    /** The codec of {@code kind}. */
    public static KvCodec of(KvCodecKind kind) {
        if (kind == KvCodecKind.F32) {
            return Float32Codec.INSTANCE;
        }
        throw new UnsupportedOperationException(kind + " codec not merged yet");
    }
}
