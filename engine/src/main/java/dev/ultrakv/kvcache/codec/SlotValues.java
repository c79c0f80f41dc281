package dev.ultrakv.kvcache.codec;

/**
 * Checks of the values handed to {@link KvCodec#encode}, with messages that name the value and its channel (its
 * index within the slot), so that a diverging model is caught where its first non-finite key is written.
 */
final class SlotValues {
    private SlotValues() {
    }

    /**
     * @throws IllegalArgumentException at the first NaN or infinite value of {@code src[offset, offset + n)}
     */
    static void checkFinite(KvCodecKind kind, float[] src, int offset, int n) {
        for (int c = 0; c < n; c++) {
            if (!Float.isFinite(src[offset + c])) {
                throw unstorable(kind, src[offset + c], c, "only finite values can be stored");
            }
        }
    }

    /** The exception for a value a codec cannot store: {@code "<kind> cannot store <value> at channel <c>: <why>"}. */
    static IllegalArgumentException unstorable(KvCodecKind kind, float value, int channel, String why) {
        return new IllegalArgumentException(kind + " cannot store " + value + " at channel " + channel + ": " + why);
    }
}
