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

    /**
     * The float16 scale {@code f16(absmax / maxCode)} of the symmetric group of channels {@code [from, from + group)}
     * of {@code src} (from {@code srcOffset}), whose codes span {@code [-maxCode, maxCode]} (127 for int8; 7.5 and
     * 1.5 for the zero-centred int4 and int2, whose codes are offset by that centre).
     *
     * @throws IllegalArgumentException naming the largest value if the scale overflows float16
     */
    static short symmetricScale(KvCodecKind kind, float[] src, int srcOffset, int from, int group, float maxCode) {
        float absmax = 0f;
        int channel = from;
        for (int c = from; c < from + group; c++) {
            float a = Math.abs(src[srcOffset + c]);
            if (a > absmax) {
                absmax = a;
                channel = c;
            }
        }
        float exact = absmax / maxCode;
        short bits = Float.floatToFloat16(exact);
        if (Float.isInfinite(Float.float16ToFloat(bits))) {
            throw unstorable(kind, src[srcOffset + channel], channel, "its group's scale |value| / " + maxCode
                    + " = " + exact + " overflows float16 (largest 65504)");
        }
        return bits;
    }

    /** The exception for a value a codec cannot store: {@code "<kind> cannot store <value> at channel <c>: <why>"}. */
    static IllegalArgumentException unstorable(KvCodecKind kind, float value, int channel, String why) {
        return new IllegalArgumentException(kind + " cannot store " + value + " at channel " + channel + ": " + why);
    }
}
