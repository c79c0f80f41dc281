package dev.ultrakv.model.synthetic;

import dev.ultrakv.tensor.GgmlType;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

/**
 * Encodes floats into GGML types the way ggml's reference quantizers do ({@code quantize_row_q8_0_ref},
 * {@code quantize_row_q4_0_ref}, {@code GGML_FP32_TO_FP16}, {@code GGML_FP32_TO_BF16}).
 *
 * <p>NOTE: a stand-in for {@code dev.ultrakv.tensor.TensorEncoder}, which is written on another branch with the
 * same signature; replace calls to this class with it after the merge and delete this one.
 */
final class SyntheticEncoding {

    private static final ValueLayout.OfFloat F32 = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    private static final ValueLayout.OfShort U16 = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    /** Largest magnitude of a Q8_0 value: int8 without -128, so the scale maps amax to exactly 127. */
    private static final int Q8_MAX = 127;
    /** Q4_0 stores q in 0..15 meaning q - 8; the value of largest magnitude maps to -8. */
    private static final float Q4_MIN = -8f;
    /** Largest 4-bit code. */
    private static final int Q4_MAX_CODE = 15;

    private SyntheticEncoding() {
    }

    /**
     * Encodes all of {@code src} as {@code type} into {@code dst} from {@code dstOffset}, taking
     * {@code type.bytesFor(src.length)} bytes.
     *
     * @throws IllegalArgumentException if {@code src.length} is not a whole number of blocks
     */
    static void encode(GgmlType type, float[] src, MemorySegment dst, long dstOffset) {
        long bytes = type.bytesFor(src.length);
        MemorySegment out = dst.asSlice(dstOffset, bytes);
        switch (type) {
            case F32 -> MemorySegment.copy(src, 0, out, F32, 0, src.length);
            case F16 -> {
                for (int i = 0; i < src.length; i++) {
                    out.set(U16, 2L * i, Float.floatToFloat16(src[i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < src.length; i++) {
                    out.set(U16, 2L * i, toBf16(src[i]));
                }
            }
            case Q8_0 -> q8_0(src, out);
            case Q4_0 -> q4_0(src, out);
        }
    }

    /** ggml's {@code GGML_FP32_TO_BF16}: round to nearest even, NaN kept quiet. */
    private static short toBf16(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) {
            return (short) ((u >>> 16) | 64);
        }
        return (short) ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16);
    }

    private static void q8_0(float[] src, MemorySegment out) {
        int qk = GgmlType.Q8_0.blockSize();
        for (int b = 0; b < src.length / qk; b++) {
            float amax = 0;
            for (int j = 0; j < qk; j++) {
                amax = Math.max(amax, Math.abs(src[b * qk + j]));
            }
            float d = amax / Q8_MAX;
            float id = d != 0 ? 1.0f / d : 0.0f;
            long at = (long) b * GgmlType.Q8_0.blockBytes();
            out.set(U16, at, Float.floatToFloat16(d));
            for (int j = 0; j < qk; j++) {
                int q = roundHalfAway(src[b * qk + j] * id);
                out.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) Math.clamp(q, -Q8_MAX, Q8_MAX));
            }
        }
    }

    private static void q4_0(float[] src, MemorySegment out) {
        int qk = GgmlType.Q4_0.blockSize();
        for (int b = 0; b < src.length / qk; b++) {
            float amax = 0;
            float max = 0;
            for (int j = 0; j < qk; j++) {
                float v = src[b * qk + j];
                if (amax < Math.abs(v)) {
                    amax = Math.abs(v);
                    max = v;
                }
            }
            float d = max / Q4_MIN;
            float id = d != 0 ? 1.0f / d : 0.0f;
            long at = (long) b * GgmlType.Q4_0.blockBytes();
            out.set(U16, at, Float.floatToFloat16(d));
            for (int j = 0; j < qk / 2; j++) {
                int lo = Math.min(Q4_MAX_CODE, (int) (src[b * qk + j] * id + 8.5f));
                int hi = Math.min(Q4_MAX_CODE, (int) (src[b * qk + qk / 2 + j] * id + 8.5f));
                out.set(ValueLayout.JAVA_BYTE, at + 2 + j, (byte) (lo | (hi << 4)));
            }
        }
    }

    /** C's {@code roundf}: to nearest, ties away from zero ({@link Math#round} breaks ties upwards). */
    private static int roundHalfAway(float x) {
        return x < 0 ? -Math.round(-x) : Math.round(x);
    }
}
