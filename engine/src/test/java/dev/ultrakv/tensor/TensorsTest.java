package dev.ultrakv.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Random;

import jdk.incubator.vector.ShortVector;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** The tensors over each type: element access, bulk copies, dot products and the checks of {@link Tensors#wrap}. */
class TensorsTest {

    @Test
    void wrap_rejectsWrongByteSize_namingTypeAndSizes() {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(396);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Tensors.wrap(GgmlType.F32, segment, 100));
            assertTrue(e.getMessage().contains("F32") && e.getMessage().contains("100")
                    && e.getMessage().contains("400") && e.getMessage().contains("396"), e.getMessage());

            IllegalArgumentException q = assertThrows(IllegalArgumentException.class,
                    () -> Tensors.wrap(GgmlType.Q4_0, arena.allocate(36), 96));
            assertTrue(q.getMessage().contains("Q4_0") && q.getMessage().contains("54")
                    && q.getMessage().contains("36"), q.getMessage());
        }
    }

    @Test
    void wrap_rejectsPartialBlocks() {
        try (Arena arena = Arena.ofConfined()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> Tensors.wrap(GgmlType.Q8_0, arena.allocate(34), 31));
            assertTrue(e.getMessage().contains("Q8_0") && e.getMessage().contains("32"), e.getMessage());
        }
    }

    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void wrap_keepsTypeSizeAndSegment(GgmlType type) {
        int n = Math.max(64, 2 * type.blockSize());
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(type.bytesFor(n));
            FloatTensor t = Tensors.wrap(type, segment, n);
            assertEquals(type, t.type());
            assertEquals(n, t.size());
            assertSame(segment, t.segment());
            assertThrows(IndexOutOfBoundsException.class, () -> t.getFloat(n));
        }
    }

    /** copyTo is vectorised and getFloat scalar; both decode exactly, so they agree bit for bit. */
    @ParameterizedTest
    @EnumSource(GgmlType.class)
    void copyTo_agreesWithGetFloat_andDotWithTheCopy(GgmlType type) {
        Random random = new Random(30 + type.ordinal());
        int n = Math.max(32, type.blockSize()) * 13;
        try (Arena arena = Arena.ofConfined()) {
            FloatTensor t = TestData.random(type, random, n, arena);
            float[] elements = TestData.elements(t);
            int step = type.blockSize();
            for (int offset = 0; offset < n; offset += 3 * step) {
                for (int len = 0; offset + len <= n; len += step == 1 ? 7 : 2 * step) {
                    float[] copy = new float[len + 2];
                    t.copyTo(offset, copy, 2, len);
                    for (int i = 0; i < len; i++) {
                        assertEquals(elements[offset + i], copy[2 + i], type + " element " + (offset + i));
                    }
                    float[] x = TestData.floats(random, len + 1);
                    double exact = 0;
                    double magnitude = 0;
                    for (int i = 0; i < len; i++) {
                        exact += (double) elements[offset + i] * x[1 + i];
                        magnitude += Math.abs((double) elements[offset + i] * x[1 + i]);
                    }
                    assertEquals(exact, t.dot(offset, x, 1, len), TestData.sumTolerance(len, magnitude),
                            type + " dot at " + offset + " of " + len);
                }
            }
        }
    }

    @Test
    void quantizedTensors_rejectPartialBlockAccess() {
        try (Arena arena = Arena.ofConfined()) {
            FloatTensor t = TestData.tensor(GgmlType.Q4_0, new float[64], arena);
            assertThrows(IllegalArgumentException.class, () -> t.dot(16, new float[32], 0, 32));
            assertThrows(IllegalArgumentException.class, () -> t.copyTo(0, new float[64], 0, 48));
        }
    }

    /** Every one of the 65536 float16 bit patterns, NaNs and infinities included, decodes as Java does. */
    @Test
    void f16_decodesEveryBitPatternLikeFloat16ToFloat() {
        int n = 1 << 16;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(2L * n);
            for (int i = 0; i < n; i++) {
                segment.set(WeightKernels.I16_LE, 2L * i, (short) i);
            }
            FloatTensor t = Tensors.wrap(GgmlType.F16, segment, n);
            float[] out = new float[n];
            t.copyTo(0, out, 0, n);
            for (int i = 0; i < n; i++) {
                int expected = Float.floatToRawIntBits(Float.float16ToFloat((short) i));
                assertEquals(expected, Float.floatToRawIntBits(out[i]), "half 0x" + Integer.toHexString(i));
                assertEquals(expected, Float.floatToRawIntBits(t.getFloat(i)), "half 0x" + Integer.toHexString(i));
            }
        }
    }

    /** The in-register conversion of the F16 dot: exact except that it may leave a NaN signalling. */
    @Test
    void f16_inRegisterConversion_isExactForEveryNonNaN_andKeepsNaNs() {
        int lanes = WeightKernels.L;
        short[] halves = new short[lanes];
        float[] out = new float[lanes];
        for (int base = 0; base < 1 << 16; base += lanes) {
            for (int i = 0; i < lanes; i++) {
                halves[i] = (short) (base + i);
            }
            WeightKernels.f16ToFloatForArithmetic(ShortVector.fromArray(WeightKernels.S, halves, 0)).intoArray(out, 0);
            for (int i = 0; i < lanes; i++) {
                float expected = Float.float16ToFloat(halves[i]);
                String what = "half 0x" + Integer.toHexString(base + i);
                if (Float.isNaN(expected)) {
                    assertTrue(Float.isNaN(out[i]), what);
                } else {
                    assertEquals(Float.floatToRawIntBits(expected), Float.floatToRawIntBits(out[i]), what);
                }
            }
        }
    }

    @Test
    void bf16_decodesEveryBitPatternAsTheUpperHalfOfAFloat() {
        int n = 1 << 16;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment segment = arena.allocate(2L * n);
            for (int i = 0; i < n; i++) {
                segment.set(WeightKernels.I16_LE, 2L * i, (short) i);
            }
            FloatTensor t = Tensors.wrap(GgmlType.BF16, segment, n);
            float[] out = new float[n];
            t.copyTo(0, out, 0, n);
            for (int i = 0; i < n; i++) {
                assertEquals(i << 16, Float.floatToRawIntBits(out[i]), "bf16 0x" + Integer.toHexString(i));
                assertEquals(i << 16, Float.floatToRawIntBits(t.getFloat(i)), "bf16 0x" + Integer.toHexString(i));
            }
        }
    }
}
