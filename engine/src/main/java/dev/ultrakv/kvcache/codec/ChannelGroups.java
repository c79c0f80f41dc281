package dev.ultrakv.kvcache.codec;

/**
 * How the integer codecs split a slot's {@code headSize} channels into quantization groups: runs of
 * {@link #groupSize} consecutive channels, each with its own float16 scale (and minimum).
 *
 * <h2>Notes</h2>
 * <b>The rule.</b> A head of up to {@value #MAX_GROUP} channels is one group. A longer head is cut into equal
 * groups of the largest divisor of {@code headSize} that is at most {@value #MAX_GROUP} and a multiple of
 * {@value #GROUP_MULTIPLE}: 128 → 2 × 64, 96 → 2 × 48, 80 → 2 × 40, 72 → 3 × 24. A longer head with no such divisor
 * (100, 65, 130) is refused: its groups would either be long (one outlier coarsening many channels) or ragged
 * (breaking the packing's whole bytes and the kernels' whole vectors).
 *
 * <p><b>Why per-slot groups.</b> Scales are per slot, never per block, so a slot can be written the moment its
 * position is computed and copied byte for byte; the price is the scale bytes in every slot (0.25 bit per value
 * for int8 at 64 channels and the zero-centred codecs, 0.5 for the asymmetric codecs). The keys of INT4 and INT2
 * caches are the exception, per channel over a block ({@link ChannelKeyCodec}).
 */
final class ChannelGroups {
    /**
     * Longest group: the quantization step is proportional to a group's range, so one outlier coarsens at most
     * 64 channels, while the scale overhead stays at 16 / 64 = 0.25 bit per value.
     */
    static final int MAX_GROUP = 64;
    /**
     * Groups of a long head are a multiple of 8 channels: whole bytes of int2 codes (4 per byte) and of int4
     * codes, and whole 8-lane float vectors (AVX2) for the kernels.
     */
    static final int GROUP_MULTIPLE = 8;

    private ChannelGroups() {
    }

    /**
     * Channels per group for heads of {@code headSize}: {@code headSize} itself up to {@value #MAX_GROUP}, else
     * the largest divisor of {@code headSize} that is at most {@value #MAX_GROUP} and a multiple of
     * {@value #GROUP_MULTIPLE}.
     *
     * @param codesPerByte codes packed into one byte (1, 2 or 4); a group must fill whole bytes
     * @throws IllegalArgumentException if {@code headSize} is not positive, has no such divisor, or its groups
     *                                  do not fill whole bytes; the message names the size
     */
    static int groupSize(KvCodecKind kind, int headSize, int codesPerByte) {
        if (headSize <= 0) {
            throw new IllegalArgumentException(kind + " needs a positive headSize: " + headSize);
        }
        int group = headSize;
        if (headSize > MAX_GROUP) {
            group = 0;
            for (int g = MAX_GROUP / GROUP_MULTIPLE * GROUP_MULTIPLE; g >= GROUP_MULTIPLE; g -= GROUP_MULTIPLE) {
                if (headSize % g == 0) {
                    group = g;
                    break;
                }
            }
            if (group == 0) {
                throw new IllegalArgumentException(kind + " cannot group headSize " + headSize + ": above "
                        + MAX_GROUP + " channels a head must have a divisor that is a multiple of " + GROUP_MULTIPLE
                        + " and at most " + MAX_GROUP);
            }
        }
        if (group % codesPerByte != 0) {
            throw new IllegalArgumentException(kind + " packs " + codesPerByte + " codes per byte; headSize "
                    + headSize + " is not a multiple of " + codesPerByte);
        }
        return group;
    }
}
