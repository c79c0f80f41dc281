package dev.ultrakv.model.synthetic;

import dev.ultrakv.tensor.GgmlType;
import org.junit.jupiter.api.Test;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** Hand-checked blocks: the stand-in encoder must round exactly as ggml's reference quantizers. */
class SyntheticEncodingTest {

    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    @Test
    void q8_0_roundsHalfAwayFromZero() {
        float[] x = new float[32];
        x[0] = 127f;   // amax: d = 1, id = 1
        x[1] = -2.5f;  // roundf: -3 (Math.round would give -2)
        x[2] = 2.5f;
        x[3] = 0.49f;
        x[4] = -127f;
        MemorySegment out = MemorySegment.ofArray(new byte[34]);
        SyntheticEncoding.encode(GgmlType.Q8_0, x, out, 0);
        assertEquals(Float.floatToFloat16(1f), out.get(U16, 0));
        assertEquals(127, out.get(ValueLayout.JAVA_BYTE, 2));
        assertEquals(-3, out.get(ValueLayout.JAVA_BYTE, 3));
        assertEquals(3, out.get(ValueLayout.JAVA_BYTE, 4));
        assertEquals(0, out.get(ValueLayout.JAVA_BYTE, 5));
        assertEquals(-127, out.get(ValueLayout.JAVA_BYTE, 6));
    }

    @Test
    void q8_0_zeroBlock_hasZeroScale() {
        MemorySegment out = MemorySegment.ofArray(new byte[34]);
        SyntheticEncoding.encode(GgmlType.Q8_0, new float[32], out, 0);
        assertEquals(-1, out.mismatch(MemorySegment.ofArray(new byte[34])));
    }

    @Test
    void q4_0_mapsTheSignedMaximumToMinusEight() {
        float[] x = new float[32];
        x[0] = -8f;  // max by magnitude, negative: d = -8 / -8 = 1
        x[1] = 7f;   // 7 + 8.5 -> 15
        x[2] = 0f;   // 8
        x[16] = 7.9f; // 16.4 -> 16, clamped to 15
        x[17] = -0.6f; // 7.9 -> 7
        MemorySegment out = MemorySegment.ofArray(new byte[18]);
        SyntheticEncoding.encode(GgmlType.Q4_0, x, out, 0);
        assertEquals(Float.floatToFloat16(1f), out.get(U16, 0));
        assertEquals(0 | (15 << 4), Byte.toUnsignedInt(out.get(ValueLayout.JAVA_BYTE, 2)));
        assertEquals(15 | (7 << 4), Byte.toUnsignedInt(out.get(ValueLayout.JAVA_BYTE, 3)));
        assertEquals(8 | (8 << 4), Byte.toUnsignedInt(out.get(ValueLayout.JAVA_BYTE, 4)));
    }

    @Test
    void bf16_roundsToNearestEven() {
        float[] x = {1.0f, Float.intBitsToFloat(0x3f808000), Float.intBitsToFloat(0x3f818000), -2.0f};
        MemorySegment out = MemorySegment.ofArray(new byte[8]);
        SyntheticEncoding.encode(GgmlType.BF16, x, out, 0);
        assertEquals((short) 0x3f80, out.get(U16, 0));
        assertEquals((short) 0x3f80, out.get(U16, 2)); // tie, even stays
        assertEquals((short) 0x3f82, out.get(U16, 4)); // tie, odd rounds up
        assertEquals((short) 0xc000, out.get(U16, 6));
    }
}
