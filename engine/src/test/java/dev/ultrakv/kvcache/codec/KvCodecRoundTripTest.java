package dev.ultrakv.kvcache.codec;

import dev.ultrakv.kvcache.codec.CodecTestData.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Encode then decode stays within the error bound of each codec's bit width, for every shape of slot and every
 * head size; values a codec cannot store are refused with their channel named.
 *
 * <p>The bounds, per group ({@code σ} the exact scale, {@code s = f16(σ)} the stored one, {@code u = 2⁻²⁴}):
 * <ul>
 *   <li>F32: exact;
 *   <li>F16: {@code |x - x̂| ≤ 2⁻¹¹ |x|}, or {@code 2⁻²⁵} absolute below the normal halves;
 *   <li>INT8: {@code σ = absmax / 127}, {@code |x - x̂| ≤ σ/2 + 127 |s - σ|} (+ one float rounding of x̂);
 *   <li>INT4, INT2: {@code m = f16(min)}, {@code σ = (max - m) / (2^b - 1)},
 *       {@code |x - x̂| ≤ σ/2 + |m - min| + (2^b - 1) |s - σ|} (+ two float roundings of x̂).
 * </ul>
 */
class KvCodecRoundTripTest {
    /** Slots of each shape and head size. */
    static final int SLOTS = 20;

    @ParameterizedTest
    @EnumSource(KvCodecKind.class)
    void roundTripStaysWithinTheBoundOfTheBitWidth(KvCodecKind kind) {
        KvCodec codec = KvCodecs.of(kind);
        SplittableRandom random = new SplittableRandom(7 + kind.ordinal());
        try (Arena arena = Arena.ofConfined()) {
            for (int headSize : CodecTestData.HEAD_SIZES) {
                long slotBytes = codec.slotBytes(headSize);
                MemorySegment segment = arena.allocate(slotBytes + 3);
                for (Shape shape : Shape.values()) {
                    for (int n = 0; n < SLOTS; n++) {
                        float[] x = shape.slot(random, headSize);
                        codec.encode(x, 0, headSize, segment, 3);
                        float[] decoded = new float[headSize];
                        codec.decode(segment, 3, headSize, decoded, 0);
                        String where = kind + " " + shape + " headSize " + headSize;
                        if (kind == KvCodecKind.F32) {
                            assertArrayEquals(x, decoded, where);
                        } else {
                            assertWithinBound(kind, headSize, x, decoded, where);
                        }
                    }
                }
            }
        }
    }

    private static void assertWithinBound(KvCodecKind kind, int headSize, float[] x, float[] decoded, String where) {
        if (kind == KvCodecKind.F16) {
            for (int c = 0; c < headSize; c++) {
                double bound = Math.max(0x1p-11 * Math.abs(x[c]), 0x1p-25);
                assertTrue(Math.abs(x[c] - decoded[c]) <= bound, where + " channel " + c);
            }
            return;
        }
        int group = CodecTestData.groupSize(headSize);
        for (int from = 0; from < headSize; from += group) {
            double bound = groupBound(kind, x, from, group);
            for (int c = from; c < from + group; c++) {
                double error = Math.abs((double) x[c] - decoded[c]);
                assertTrue(error <= bound, where + " channel " + c + ": " + x[c] + " decoded as " + decoded[c]
                        + ", error " + error + " above " + bound);
            }
        }
    }

    /** The bound of the class notes for the group {@code [from, from + group)}. */
    static double groupBound(KvCodecKind kind, float[] x, int from, int group) {
        float min = Float.POSITIVE_INFINITY;
        float max = Float.NEGATIVE_INFINITY;
        float absmax = 0f;
        for (int c = from; c < from + group; c++) {
            min = Math.min(min, x[c]);
            max = Math.max(max, x[c]);
            absmax = Math.max(absmax, Math.abs(x[c]));
        }
        double rounding = 4 * CodecTestData.FLOAT_U * absmax;
        if (kind == KvCodecKind.INT8) {
            double sigma = absmax / 127.0;
            double s = Float.float16ToFloat(Float.floatToFloat16((float) sigma));
            return sigma / 2 + 127 * Math.abs(s - sigma) + rounding;
        }
        int levels = (1 << kind.bits()) - 1;
        float m = Float.float16ToFloat(Float.floatToFloat16(min));
        double sigma = Math.max(0.0, (double) max - m) / levels;
        double s = Float.float16ToFloat(Float.floatToFloat16((float) sigma));
        return sigma / 2 + Math.abs(m - (double) min) + levels * Math.abs(s - sigma) + rounding;
    }

    @ParameterizedTest
    @EnumSource(KvCodecKind.class)
    void zerosRoundTripExactly(KvCodecKind kind) {
        KvCodec codec = KvCodecs.of(kind);
        try (Arena arena = Arena.ofConfined()) {
            for (int headSize : CodecTestData.HEAD_SIZES) {
                MemorySegment segment = arena.allocate(codec.slotBytes(headSize));
                segment.fill((byte) 0x5A);
                float[] decoded = new float[headSize];
                codec.encode(new float[headSize], 0, headSize, segment, 0);
                codec.decode(segment, 0, headSize, decoded, 0);
                assertArrayEquals(new float[headSize], decoded, kind + " headSize " + headSize);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = KvCodecKind.class, names = {"INT4", "INT2"})
    void constantGroupOfAHalfHasScaleZeroAndDecodesToItsMinimum(KvCodecKind kind) {
        KvCodec codec = KvCodecs.of(kind);
        float[] x = new float[64];
        java.util.Arrays.fill(x, -2.5f);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(codec.slotBytes(64));
            codec.encode(x, 0, 64, segment, 0);
            assertEquals(0f, Float.float16ToFloat(segment.get(CodecVectors.F16_LE, 0)), "scale");
            assertEquals(-2.5f, CodecTestData.groupMin(segment, 0, 0), "minimum");
            for (long b = 4; b < segment.byteSize(); b++) {
                assertEquals(0, segment.get(CodecVectors.I8, b), "code byte " + b);
            }
            float[] decoded = new float[64];
            codec.decode(segment, 0, 64, decoded, 0);
            assertArrayEquals(x, decoded);
        }
    }

    @Test
    void bitsPerValueAtHeadSize64() {
        assertEquals(32.0, KvCodecs.bitsPerValue(KvCodecs.of(KvCodecKind.F32), 64));
        assertEquals(16.0, KvCodecs.bitsPerValue(KvCodecs.of(KvCodecKind.F16), 64));
        assertEquals(8.25, KvCodecs.bitsPerValue(KvCodecs.of(KvCodecKind.INT8), 64));
        assertEquals(4.5, KvCodecs.bitsPerValue(KvCodecs.of(KvCodecKind.INT4), 64));
        assertEquals(2.5, KvCodecs.bitsPerValue(KvCodecs.of(KvCodecKind.INT2), 64));
        // Two groups of 64 at 128: the same rate; two groups of 48 at 96 pay a little more for their scales.
        assertEquals(8.25, KvCodecs.bitsPerValue(KvCodecs.of(KvCodecKind.INT8), 128));
        assertEquals(8 + 2 * 16 / 96.0, KvCodecs.bitsPerValue(KvCodecs.of(KvCodecKind.INT8), 96));
    }

    @ParameterizedTest
    @EnumSource(KvCodecKind.class)
    void ofReturnsOneInstanceOfTheKind(KvCodecKind kind) {
        assertSame(KvCodecs.of(kind), KvCodecs.of(kind));
        assertEquals(kind, KvCodecs.of(kind).kind());
        assertEquals(kind == KvCodecKind.F32, KvCodecs.of(kind).isLossless());
    }

    @Test
    void longHeadsSplitIntoTheLargestGroupThatIsAMultipleOf8UpTo64() {
        assertEquals(8, ChannelGroups.groupSize(KvCodecKind.INT8, 8, 1));
        assertEquals(64, ChannelGroups.groupSize(KvCodecKind.INT8, 64, 1));
        assertEquals(64, ChannelGroups.groupSize(KvCodecKind.INT8, 128, 1));
        assertEquals(48, ChannelGroups.groupSize(KvCodecKind.INT8, 96, 1));
        assertEquals(40, ChannelGroups.groupSize(KvCodecKind.INT4, 80, 2));
        assertEquals(24, ChannelGroups.groupSize(KvCodecKind.INT2, 72, 4));
        assertEquals(64, ChannelGroups.groupSize(KvCodecKind.INT2, 256, 4));
    }

    @Test
    void headSizesThePackingCannotTakeAreRefusedByName() {
        assertRefused(KvCodecKind.INT2, 6, "6");
        assertRefused(KvCodecKind.INT4, 7, "7");
        assertRefused(KvCodecKind.INT8, 100, "100");
        assertRefused(KvCodecKind.INT8, 65, "65");
        assertRefused(KvCodecKind.F32, 0, "0");
        assertRefused(KvCodecKind.F16, -4, "-4");
        assertEquals(7, KvCodecs.of(KvCodecKind.INT8).slotBytes(5), "one scale, five codes");
        assertEquals(400, KvCodecs.of(KvCodecKind.F32).slotBytes(100));
    }

    private static void assertRefused(KvCodecKind kind, int headSize, String named) {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> KvCodecs.of(kind).slotBytes(headSize));
        assertTrue(e.getMessage().contains(named), e.getMessage());
    }

    @ParameterizedTest
    @EnumSource(KvCodecKind.class)
    void nonFiniteValuesAreRefusedWithTheirChannel(KvCodecKind kind) {
        KvCodec codec = KvCodecs.of(kind);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(codec.slotBytes(64));
            for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                float[] x = CodecTestData.floats(new SplittableRandom(1), 64);
                x[37] = bad;
                assertRefusedNaming(codec, x, segment, String.valueOf(bad), 37);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = KvCodecKind.class, names = {"F16", "INT8", "INT4", "INT2"})
    void valuesWhoseScaleOrMinimumOverflowsFloat16AreRefusedWithTheirChannel(KvCodecKind kind) {
        KvCodec codec = KvCodecs.of(kind);
        // Largest magnitudes each codec stores: 65504 (F16), 127 × 65504 (INT8), a range of 15 or 3 × 65504.
        float tooLarge = switch (kind) {
            case F16 -> 70_000f;
            case INT8 -> 9e6f;
            case INT4 -> 1e6f;
            default -> 2e5f;
        };
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(codec.slotBytes(128));
            float[] x = CodecTestData.floats(new SplittableRandom(2), 128);
            x[101] = tooLarge;
            assertRefusedNaming(codec, x, segment, String.valueOf(tooLarge), 101);
            if (CodecTestData.asymmetric(kind)) {
                float[] y = CodecTestData.floats(new SplittableRandom(3), 128);
                y[9] = -70_000f;
                assertRefusedNaming(codec, y, segment, String.valueOf(-70_000f), 9);
            }
        }
    }

    /** Refused with the value and its channel named, and the slot left as it was. */
    private static void assertRefusedNaming(KvCodec codec, float[] x, MemorySegment segment, String value,
                                            int channel) {
        int headSize = x.length;
        segment.fill((byte) 0x33);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> codec.encode(x, 0, headSize, segment, 0));
        assertTrue(e.getMessage().contains(value) && e.getMessage().contains("channel " + channel),
                codec.kind() + ": " + e.getMessage());
        for (long b = 0; b < segment.byteSize(); b++) {
            assertEquals(0x33, segment.get(CodecVectors.I8, b), "byte " + b + " written by a refused encode");
        }
    }

    @Test
    void int4PacksChannelIInTheLowNibbleAndIPlusHalfInTheHigh() {
        // Values 0..15 with min 0 and max 15 have scale 1: the codes are the values.
        float[] x = new float[32];
        for (int c = 0; c < 32; c++) {
            x[c] = (c * 7) % 16;
        }
        x[3] = 0;
        x[5] = 15;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(KvCodecs.of(KvCodecKind.INT4).slotBytes(32));
            KvCodecs.of(KvCodecKind.INT4).encode(x, 0, 32, segment, 0);
            assertEquals(1f, Float.float16ToFloat(segment.get(CodecVectors.F16_LE, 0)), "scale");
            for (int i = 0; i < 16; i++) {
                int b = segment.get(CodecVectors.I8, 4 + i) & 0xFF;
                assertEquals((int) x[i], b & 0x0F, "low nibble of byte " + i);
                assertEquals((int) x[i + 16], b >>> 4, "high nibble of byte " + i);
            }
        }
    }

    @Test
    void int2PacksChannelsIAndEachQuarterFurtherInSuccessiveBitPairs() {
        // Values 0..3 with min 0 and max 3 have scale 1: the codes are the values.
        float[] x = new float[32];
        for (int c = 0; c < 32; c++) {
            x[c] = (c * 5 + c / 8) % 4;
        }
        x[0] = 0;
        x[1] = 3;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(KvCodecs.of(KvCodecKind.INT2).slotBytes(32));
            KvCodecs.of(KvCodecKind.INT2).encode(x, 0, 32, segment, 0);
            assertEquals(1f, Float.float16ToFloat(segment.get(CodecVectors.F16_LE, 0)), "scale");
            for (int i = 0; i < 8; i++) {
                int b = segment.get(CodecVectors.I8, 4 + i) & 0xFF;
                for (int k = 0; k < 4; k++) {
                    assertEquals((int) x[i + 8 * k], (b >>> (2 * k)) & 3, "bits " + 2 * k + " of byte " + i);
                }
            }
        }
    }

    @Test
    void int8StoresScalesFirstThenSignedCodes() {
        float[] x = new float[128];
        x[0] = 127f;
        x[1] = -63.5f;
        x[64] = -254f;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(KvCodecs.of(KvCodecKind.INT8).slotBytes(128));
            KvCodecs.of(KvCodecKind.INT8).encode(x, 0, 128, segment, 0);
            assertEquals(1f, Float.float16ToFloat(segment.get(CodecVectors.F16_LE, 0)), "scale of group 0");
            assertEquals(2f, Float.float16ToFloat(segment.get(CodecVectors.F16_LE, 2)), "scale of group 1");
            assertEquals(127, segment.get(CodecVectors.I8, 4));
            assertEquals(-64, segment.get(CodecVectors.I8, 5), "-63.5 rounds to the even -64");
            assertEquals(-127, segment.get(CodecVectors.I8, 4 + 64));
        }
    }
}
