package dev.ultrakv.kvcache.codec;

import dev.ultrakv.tensor.Attention;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Per-channel key runs: encode then decode stays within the bound of the bit width and the 6-bit sub-scales
 * (see {@link ChannelKeyCodec}), non-finite keys are refused with their channel and position named, and attention
 * over a run equals attention over its decoded keys up to the rounding of the sums.
 *
 * <p>The bound per channel {@code c}, {@code levels = 2^b - 1}, {@code D} the spread of the channel minima and
 * {@code R} the widest channel range: {@code minStep ≤ D / 63} and {@code step ≤ (R + minStep) / (63 levels)}
 * (each rounded up to a float16, relative 2⁻¹⁰), and
 * {@code |x - x̂| ≤ ((range_c + minStep) / levels + step) / 2}, plus a few float roundings of the magnitudes.
 */
class ChannelKeyCodecTest {
    static final int POSITIONS = 16;
    /** Head sizes: the scalar path (8 channels), whole vectors (64, 128), and 96 (vectors of 24 or 48 bytes). */
    static final int[] HEAD_SIZES = {8, 16, 64, 96, 128};
    static final KvCodecKind[] KINDS = {KvCodecKind.INT4, KvCodecKind.INT2};
    /** Calls after which the kernel has run in the compiled tiers too. */
    static final int JIT_CALLS = 20_000;
    /** Relative rounding of a float16 field rounded outwards, with room. */
    static final double F16_ROUNDING = 0x1p-9;

    /** Runs of keys of different shapes, {@code (position, channel)} at {@code t × headSize + c}. */
    enum RunShape {
        /** Channels of varied gains and offsets. */
        RANDOM,
        /** Every other channel constant over the run. */
        CONSTANT_CHANNELS,
        /** One channel a hundred times wider than the others, as real keys have. */
        OUTLIER,
        /** All zeros. */
        ZEROS;

        float[] keys(SplittableRandom random, int headSize) {
            float[] keys = new float[POSITIONS * headSize];
            float[] gain = new float[headSize];
            float[] shift = new float[headSize];
            for (int c = 0; c < headSize; c++) {
                gain[c] = (float) Math.exp(random.nextDouble() * 4 - 2);
                shift[c] = (float) (random.nextDouble() * 4 - 2);
            }
            int outlier = random.nextInt(headSize);
            for (int t = 0; t < POSITIONS; t++) {
                for (int c = 0; c < headSize; c++) {
                    float x = (float) (random.nextDouble() * 2 - 1) * gain[c] + shift[c];
                    keys[t * headSize + c] = switch (this) {
                        case RANDOM -> x;
                        case CONSTANT_CHANNELS -> c % 2 == 0 ? shift[c] : x;
                        case OUTLIER -> c == outlier ? 100 * x : x;
                        case ZEROS -> 0f;
                    };
                }
            }
            return keys;
        }
    }

    @Test
    void bitsPerValueFitTheByteBudget() {
        assertEquals(4.796875, ChannelKeyCodec.INT4.bitsPerValue(64, POSITIONS));
        assertEquals(2.796875, ChannelKeyCodec.INT2.bitsPerValue(64, POSITIONS));
        assertEquals(5.125, ChannelKeyCodec.INT4.bitsPerValue(8, POSITIONS));
        assertEquals(3.125, ChannelKeyCodec.INT2.bitsPerValue(8, POSITIONS));
        assertEquals(ChannelKeyCodec.INT4, KvCodecs.channelKeys(KvCodecKind.INT4));
        assertEquals(null, KvCodecs.channelKeys(KvCodecKind.INT8));
    }

    @Test
    void roundTripStaysWithinTheBoundOfTheBitWidthAndTheSubScales() {
        SplittableRandom random = new SplittableRandom(41);
        try (Arena arena = Arena.ofConfined()) {
            for (KvCodecKind kind : KINDS) {
                ChannelKeyCodec codec = KvCodecs.channelKeys(kind);
                int levels = (1 << kind.bits()) - 1;
                for (int headSize : HEAD_SIZES) {
                    MemorySegment segment = arena.allocate(codec.runBytes(headSize, POSITIONS) + 3);
                    for (RunShape shape : RunShape.values()) {
                        for (int n = 0; n < 10; n++) {
                            float[] keys = shape.keys(random, headSize);
                            codec.encode(keys, 0, headSize, headSize, POSITIONS, segment, 3);
                            float[] decoded = new float[keys.length];
                            codec.decode(segment, 3, headSize, POSITIONS, decoded, 0, headSize);
                            String where = kind + " " + shape + " headSize " + headSize;
                            if (shape == RunShape.ZEROS) {
                                assertArrayEquals(keys, decoded, where);
                            } else {
                                assertWithinBound(keys, decoded, headSize, levels, where);
                            }
                        }
                    }
                }
            }
        }
    }

    private static void assertWithinBound(float[] keys, float[] decoded, int headSize, int levels, String where) {
        double[] lo = new double[headSize];
        double[] hi = new double[headSize];
        Arrays.fill(lo, Double.POSITIVE_INFINITY);
        Arrays.fill(hi, Double.NEGATIVE_INFINITY);
        double absmax = 0;
        for (int t = 0; t < POSITIONS; t++) {
            for (int c = 0; c < headSize; c++) {
                double x = keys[t * headSize + c];
                lo[c] = Math.min(lo[c], x);
                hi[c] = Math.max(hi[c], x);
                absmax = Math.max(absmax, Math.abs(x));
            }
        }
        double lowest = Double.POSITIVE_INFINITY;
        double highest = Double.NEGATIVE_INFINITY;
        double widest = 0;
        for (int c = 0; c < headSize; c++) {
            lowest = Math.min(lowest, lo[c]);
            highest = Math.max(highest, lo[c]);
            widest = Math.max(widest, hi[c] - lo[c]);
        }
        double slack = 1 + F16_ROUNDING;
        double minStep = ((highest - lowest) + F16_ROUNDING * Math.abs(lowest)) / 63 * slack + 0x1p-24;
        double step = (widest + minStep) / (63.0 * levels) * slack + 0x1p-24;
        for (int c = 0; c < headSize; c++) {
            double bound = ((hi[c] - lo[c] + minStep) / levels + step) / 2 * slack + 8 * 0x1p-24 * absmax;
            for (int t = 0; t < POSITIONS; t++) {
                double error = Math.abs((double) keys[t * headSize + c] - decoded[t * headSize + c]);
                assertTrue(error <= bound, where + " channel " + c + " position " + t + ": "
                        + keys[t * headSize + c] + " decoded as " + decoded[t * headSize + c] + ", bound " + bound);
            }
        }
    }

    @ParameterizedTest
    @EnumSource(value = KvCodecKind.class, names = {"INT4", "INT2"})
    void nonFiniteKeysAreRefusedWithTheirChannelAndPositionAndNothingIsWritten(KvCodecKind kind) {
        ChannelKeyCodec codec = KvCodecs.channelKeys(kind);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(codec.runBytes(64, POSITIONS));
            for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
                float[] keys = RunShape.RANDOM.keys(new SplittableRandom(3), 64);
                keys[3 * 64 + 5] = bad;
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> codec.encode(keys, 0, 64, 64, POSITIONS, segment, 0));
                assertTrue(e.getMessage().contains("channel 5, position 3"), e.getMessage());
                assertEquals(-1, segment.mismatch(arena.allocate(segment.byteSize())), "nothing written");
            }
            float[] huge = RunShape.RANDOM.keys(new SplittableRandom(4), 64);
            huge[7 * 64 + 9] = -1e6f;
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> codec.encode(huge, 0, 64, 64, POSITIONS, segment, 0));
            assertTrue(e.getMessage().contains("channel 9"), e.getMessage());
        }
    }

    @Test
    void scoresEqualTheDecodedTwinAndDoNotDependOnTheRunsAddress() {
        SplittableRandom random = new SplittableRandom(43);
        try (Arena arena = Arena.ofConfined()) {
            for (KvCodecKind kind : KINDS) {
                ChannelKeyCodec codec = KvCodecs.channelKeys(kind);
                for (int headSize : HEAD_SIZES) {
                    long runBytes = codec.runBytes(headSize, POSITIONS);
                    MemorySegment segment = arena.allocate(2 * runBytes + 64);
                    for (RunShape shape : RunShape.values()) {
                        float[] keys = shape.keys(random, headSize);
                        codec.encode(keys, 0, headSize, headSize, POSITIONS, segment, 5);
                        MemorySegment.copy(segment, 5, segment, runBytes + 32, runBytes);
                        float[] decoded = new float[keys.length];
                        codec.decode(segment, 5, headSize, POSITIONS, decoded, 0, headSize);
                        double absmax = 0;
                        for (float x : decoded) {
                            absmax = Math.max(absmax, Math.abs(x));
                        }
                        float[] q = CodecTestData.floats(random, headSize + 1);
                        double qNorm = 0;
                        for (int c = 0; c < headSize; c++) {
                            qNorm += Math.abs(q[1 + c]);
                        }
                        for (int count : new int[] {1, 7, POSITIONS}) {
                            float[] scores = new float[count + 2];
                            codec.attentionScores(q, 1, headSize, segment, 5, POSITIONS, count, scores, 2);
                            float[] moved = new float[count + 2];
                            codec.attentionScores(q, 1, headSize, segment, runBytes + 32, POSITIONS, count, moved, 2);
                            assertArrayEquals(scores, moved, "the run's address does not matter");
                            float[] twin = new float[count];
                            Attention.attentionScores(q, 1, decoded, 0, headSize, headSize, count, twin, 0);
                            // q'·code and the bias each sum terms bounded by |q| · 3 absmax (|m_c| ≤ 2 absmax).
                            double tolerance = KvCodecAttentionTest.sumTolerance(headSize,
                                    3 * qNorm * absmax / Math.sqrt(headSize)) + 1e-30;
                            for (int t = 0; t < count; t++) {
                                assertEquals(twin[t], scores[2 + t], tolerance,
                                        kind + " " + shape + " headSize " + headSize + " position " + t);
                            }
                        }
                    }
                }
            }
        }
    }

    @Test
    void scoresDoNotDependOnTheJitState() {
        SplittableRandom random = new SplittableRandom(47);
        try (Arena arena = Arena.ofConfined()) {
            for (KvCodecKind kind : KINDS) {
                ChannelKeyCodec codec = KvCodecs.channelKeys(kind);
                MemorySegment segment = arena.allocate(codec.runBytes(64, POSITIONS));
                codec.encode(RunShape.OUTLIER.keys(random, 64), 0, 64, 64, POSITIONS, segment, 0);
                float[] q = CodecTestData.floats(random, 64);
                float[] first = new float[POSITIONS];
                codec.attentionScores(q, 0, 64, segment, 0, POSITIONS, POSITIONS, first, 0);
                float[] again = new float[POSITIONS];
                for (int call = 0; call < JIT_CALLS; call++) {
                    codec.attentionScores(q, 0, 64, segment, 0, POSITIONS, POSITIONS, again, 0);
                }
                assertArrayEquals(first, again, kind + ": interpreted and compiled kernels agree bit for bit");
            }
        }
    }
}
