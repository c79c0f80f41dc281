package dev.ultrakv.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.Random;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Round trips through {@link TensorEncoder} and the tensors, and the rounding details of ggml's reference. */
class TensorEncoderTest {

    @Test
    void f32_roundTripsExactly() {
        float[] src = TestData.floats(new Random(40), 37);
        src[3] = Float.NaN;
        src[4] = Float.NEGATIVE_INFINITY;
        src[5] = -0f;
        try (Arena arena = Arena.ofConfined()) {
            float[] back = TestData.elements(TestData.tensor(GgmlType.F32, src, arena));
            for (int i = 0; i < src.length; i++) {
                assertEquals(Float.floatToRawIntBits(src[i]), Float.floatToRawIntBits(back[i]));
            }
        }
    }

    @Test
    void f16_roundTripsThroughFloatToFloat16() {
        float[] src = TestData.floats(new Random(41), 37);
        src[0] = 70000f;
        src[1] = 1e-7f;
        try (Arena arena = Arena.ofConfined()) {
            float[] back = TestData.elements(TestData.tensor(GgmlType.F16, src, arena));
            for (int i = 0; i < src.length; i++) {
                assertEquals(Float.float16ToFloat(Float.floatToFloat16(src[i])), back[i]);
            }
        }
    }

    @Test
    void bf16_roundsToNearestEven_andKeepsNaNs() {
        // 1 + 2^-8 lies halfway between bfloat16 neighbours 1 and 1 + 2^-7: ties go to the even one, 1.
        assertEquals(1f, bf16(1f + 0x1p-8f));
        // 1 + 3 * 2^-8 lies halfway between 1 + 2^-7 and 1 + 2^-6: the even one is 1 + 2^-6.
        assertEquals(1f + 0x1p-6f, bf16(1f + 3 * 0x1p-8f));
        assertEquals(1f + 0x1p-7f, bf16(1f + 0x1p-8f + 0x1p-20f));
        assertTrue(Float.isNaN(bf16(Float.NaN)));
        assertEquals(Float.NEGATIVE_INFINITY, bf16(Float.NEGATIVE_INFINITY));
        float[] src = TestData.floats(new Random(42), 101);
        try (Arena arena = Arena.ofConfined()) {
            float[] back = TestData.elements(TestData.tensor(GgmlType.BF16, src, arena));
            for (int i = 0; i < src.length; i++) {
                // Round to nearest: within half a bfloat16 ulp, 2^-8 relative.
                assertEquals(src[i], back[i], Math.abs(src[i]) * 0x1p-8f);
            }
        }
    }

    private static float bf16(float f) {
        return Float.intBitsToFloat(TensorEncoder.floatToBFloat16(f) << 16);
    }

    /** With amax 127 the scale is exactly 1, so the codes show roundf's halves-away-from-zero rounding. */
    @Test
    void q8_0_roundsHalvesAwayFromZero_likeRoundf() {
        float[] block = new float[32];
        block[0] = 127f;
        block[1] = -2.5f;
        block[2] = 2.5f;
        block[3] = -0.5f;
        block[4] = 0.49f;
        block[5] = -127f;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = TensorEncoder.encode(GgmlType.Q8_0, block, arena);
            assertEquals(1f, Float.float16ToFloat(s.get(WeightKernels.I16_LE, 0)));
            byte[] codes = s.asSlice(2, 32).toArray(ValueLayout.JAVA_BYTE);
            assertEquals(127, codes[0]);
            assertEquals(-3, codes[1]);
            assertEquals(3, codes[2]);
            assertEquals(-1, codes[3]);
            assertEquals(0, codes[4]);
            assertEquals(-127, codes[5]);
        }
    }

    /**
     * Decoding gives back each element within half a step plus what rounding the scale to float16 moves the
     * largest code: |x - x'| ≤ d/2 + 127·|d - fp16(d)|.
     */
    @Test
    void q8_0_roundTripsWithinHalfAStep() {
        Random random = new Random(43);
        float[] src = TestData.floats(random, 32 * 9);
        for (int i = 0; i < 32; i++) {
            src[i] = 0f;
        }
        try (Arena arena = Arena.ofConfined()) {
            float[] back = TestData.elements(TestData.tensor(GgmlType.Q8_0, src, arena));
            for (int b = 0; b < 9; b++) {
                float amax = 0;
                for (int j = 0; j < 32; j++) {
                    amax = Math.max(amax, Math.abs(src[b * 32 + j]));
                }
                float d = amax / 127;
                float d16 = Float.float16ToFloat(Float.floatToFloat16(d));
                double bound = d / 2 + 127 * Math.abs(d - d16) + 1e-7;
                for (int j = 0; j < 32; j++) {
                    assertEquals(src[b * 32 + j], back[b * 32 + j], bound, "block " + b + " element " + j);
                }
            }
        }
    }

    /** ggml's example: the value of largest magnitude (here -16) maps to code 0, i.e. -8 steps. */
    @Test
    void q4_0_mapsSignedMaxToMinusEight_andClampsTheTopCode() {
        float[] block = new float[32];
        for (int j = 0; j < 32; j++) {
            block[j] = j - 16;
        }
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment s = TensorEncoder.encode(GgmlType.Q4_0, block, arena);
            assertEquals(2f, Float.float16ToFloat(s.get(WeightKernels.I16_LE, 0)));
            byte[] packed = s.asSlice(2, 16).toArray(ValueLayout.JAVA_BYTE);
            // Element j (j < 16) in the low nibble: (int) ((j - 16) / 2 + 8.5) = (int) (j / 2 + 0.5).
            // Element 16 + j in the high nibble: min(15, (int) (j / 2 + 8.5)).
            for (int j = 0; j < 16; j++) {
                int lo = packed[j] & 0x0F;
                int hi = (packed[j] & 0xFF) >>> 4;
                assertEquals((int) (j / 2f + 0.5f), lo, "low nibble " + j);
                assertEquals(Math.min(15, (int) (j / 2f + 8.5f)), hi, "high nibble " + j);
            }
            FloatTensor t = Tensors.wrap(GgmlType.Q4_0, s, 32);
            assertEquals(-16f, t.getFloat(0));
            assertEquals(14f, t.getFloat(31));
        }
    }

    /** Within half a step, or a whole step at the clamped top code, plus the float16 rounding of the scale. */
    @Test
    void q4_0_roundTripsWithinAStep() {
        Random random = new Random(44);
        float[] src = TestData.floats(random, 32 * 11);
        try (Arena arena = Arena.ofConfined()) {
            float[] back = TestData.elements(TestData.tensor(GgmlType.Q4_0, src, arena));
            for (int b = 0; b < 11; b++) {
                float max = 0;
                for (int j = 0; j < 32; j++) {
                    if (Math.abs(src[b * 32 + j]) > Math.abs(max)) {
                        max = src[b * 32 + j];
                    }
                }
                float d = Math.abs(max / -8);
                float d16 = Math.abs(Float.float16ToFloat(Float.floatToFloat16(max / -8)));
                double bound = d + 8 * Math.abs(d - d16) + 1e-7;
                for (int j = 0; j < 32; j++) {
                    assertEquals(src[b * 32 + j], back[b * 32 + j], bound, "block " + b + " element " + j);
                }
            }
        }
    }

    @Test
    void encode_rejectsPartialBlocksAndShortDestinations() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment dst = arena.allocate(100);
            IllegalArgumentException partial = assertThrows(IllegalArgumentException.class,
                    () -> TensorEncoder.encode(GgmlType.Q4_0, new float[33], dst, 0));
            assertTrue(partial.getMessage().contains("Q4_0"), partial.getMessage());
            IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                    () -> TensorEncoder.encode(GgmlType.F32, new float[20], dst, 24));
            assertTrue(small.getMessage().contains("80") && small.getMessage().contains("100"), small.getMessage());
        }
    }

    /**
     * Bits per quantized value: an ideal uniform quantizer with 2^bits levels over the range of uniform data has
     * a relative RMS error of 2^-bits and a worst error of half a step, 2^-bits of the range.
     */
    private static int bits(GgmlType type) {
        return switch (type) {
            case Q2_K -> 2;
            case Q3_K -> 3;
            case Q4_0, Q4_1, Q4_K -> 4;
            case Q5_0, Q5_1, Q5_K -> 5;
            case Q6_K -> 6;
            case Q8_0 -> 8;
            case F32, F16, BF16 -> throw new IllegalArgumentException(type + " is not quantized");
        };
    }

    /**
     * Seeded uniform data through every quantized type and back: the relative RMS error is within 25% of the
     * ideal 2^-bits (scales rounded to float16 or 6 bits, and the symmetric types' unused level, cost a little),
     * and no element is off by more than 1.25 * 2^(1-bits) of its block's largest magnitude (a symmetric type
     * clips the side opposite its largest value by up to one step, 2^(1-bits) of it).
     */
    @ParameterizedTest
    @EnumSource(value = GgmlType.class, names = {"F32", "F16", "BF16"}, mode = EnumSource.Mode.EXCLUDE)
    void quantizedRoundTrip_staysWithinTheErrorOfItsBits(GgmlType type) {
        int n = 256 * 64;
        float[] src = TestData.floats(new Random(43), n);
        float[] back = new float[n];
        try (Arena arena = Arena.ofConfined()) {
            Tensors.wrap(type, TensorEncoder.encode(type, src, arena), n).copyTo(0, back, 0, n);
        }
        double squaredError = 0;
        double squaredSignal = 0;
        for (int i = 0; i < n; i++) {
            squaredError += (back[i] - src[i]) * (double) (back[i] - src[i]);
            squaredSignal += src[i] * (double) src[i];
        }
        double ideal = Math.scalb(1.0, -bits(type));
        double relativeRms = Math.sqrt(squaredError / squaredSignal);
        assertTrue(relativeRms <= 1.25 * ideal, type + ": relative RMS error " + relativeRms + ", ideal " + ideal);
        for (int block = 0; block < n; block += type.blockSize()) {
            double amax = 0;
            for (int i = block; i < block + type.blockSize(); i++) {
                amax = Math.max(amax, Math.abs(src[i]));
            }
            for (int i = block; i < block + type.blockSize(); i++) {
                double error = Math.abs(back[i] - src[i]);
                assertTrue(error <= 1.25 * 2 * ideal * amax, type + ": element " + i + " is " + src[i]
                        + ", read back " + back[i] + " (block amax " + amax + ")");
            }
        }
    }

    @Test
    void allZeroBlocks_encodeToZeros_inEveryType() {
        float[] zeros = new float[512];
        try (Arena arena = Arena.ofConfined()) {
            for (GgmlType type : GgmlType.values()) {
                MemorySegment encoded = TensorEncoder.encode(type, zeros, arena);
                float[] back = new float[zeros.length];
                Tensors.wrap(type, encoded, zeros.length).copyTo(0, back, 0, back.length);
                for (float v : back) {
                    assertEquals(0f, Math.abs(v), type.toString());
                }
            }
        }
    }
}
