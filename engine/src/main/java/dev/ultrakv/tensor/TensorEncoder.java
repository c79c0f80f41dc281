package dev.ultrakv.tensor;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * Encodes floats into each {@link GgmlType}, bit for bit as ggml's reference code does, so files written by
 * UltraKV read the same in llama.cpp and tensors quantized here match tensors quantized there.
 *
 * <ul>
 *   <li>F16: round to nearest even ({@link Float#floatToFloat16}, like {@code GGML_FP32_TO_FP16}).</li>
 *   <li>BF16: round to nearest even; NaNs stay quiet NaNs ({@code ggml_compute_fp32_to_bf16}).</li>
 *   <li>Q8_0: {@code quantize_row_q8_0_ref}: {@code d = amax / 127}, {@code q = roundf(x / d)} (computed as
 *       {@code x * (1 / d)}, halves away from zero), {@code d} stored as float16.</li>
 *   <li>Q4_0: {@code quantize_row_q4_0_ref}: {@code max} is the element of largest magnitude with its sign,
 *       {@code d = max / -8}, {@code q = min(15, (int8) (x / d + 8.5))}.</li>
 *   <li>Q5_0: as Q4_0 with 5 bits: {@code d = max / -16}, {@code q = min(31, (int8) (x / d + 16.5))}, the fifth
 *       bits gathered in a 32-bit word.</li>
 *   <li>Q4_1 and Q5_1: {@code d = (max - min) / 15} (or 31), {@code m = min}, {@code q = (x - min) / d + 0.5}
 *       truncated (Q4_1 also capped at 15).</li>
 *   <li>Q2_K to Q6_K: {@code quantize_row_q*_K_ref}, see {@link KQuantEncoder}.</li>
 * </ul>
 */
public final class TensorEncoder {

    /** Largest magnitude of a Q8_0 value: the scale maps the block's largest magnitude to it. */
    private static final int Q8_MAX = 127;
    /** Q4_0 maps the block's value of largest magnitude to -8, the end of the 4-bit range [-8, 7]. */
    private static final float Q4_MAX_TO = -8f;
    /** Q4_0 offset: nibble = value + 8; the extra 0.5 rounds the truncating conversion to nearest. */
    private static final float Q4_BIAS = 8.5f;
    /** Largest Q4_0 nibble. */
    private static final int Q4_TOP = 15;
    /** Q5_0 maps the block's value of largest magnitude to -16, the end of the 5-bit range [-16, 15]. */
    private static final float Q5_MAX_TO = -16f;
    /** Q5_0 offset: value + 16, plus 0.5 to round the truncating conversion. */
    private static final float Q5_BIAS = 16.5f;
    /** Largest 5-bit value. */
    private static final int Q5_TOP = 31;

    private static final ValueLayout.OfFloat F32_LE = WeightKernels.F32_LE;
    private static final ValueLayout.OfShort I16_LE = WeightKernels.I16_LE;
    private static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    private TensorEncoder() {
    }

    /**
     * Writes {@code src} encoded as {@code type} into {@code dst} from byte {@code dstOffset}, taking
     * {@code type.bytesFor(src.length)} bytes.
     *
     * @throws IllegalArgumentException if a quantized type is given a partial block, or {@code dst} is too small
     */
    public static void encode(GgmlType type, float[] src, MemorySegment dst, long dstOffset) {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(src, "src");
        long bytes = type.bytesFor(src.length);
        if (dstOffset < 0 || dstOffset > dst.byteSize() - bytes) {
            throw new IllegalArgumentException(src.length + " elements of " + type + " take " + bytes
                    + " bytes; they do not fit at offset " + dstOffset + " of a " + dst.byteSize() + "-byte segment");
        }
        switch (type) {
            case F32 -> MemorySegment.copy(src, 0, dst, F32_LE, dstOffset, src.length);
            case F16 -> {
                for (int i = 0; i < src.length; i++) {
                    dst.set(I16_LE, dstOffset + 2L * i, Float.floatToFloat16(src[i]));
                }
            }
            case BF16 -> {
                for (int i = 0; i < src.length; i++) {
                    dst.set(I16_LE, dstOffset + 2L * i, floatToBFloat16(src[i]));
                }
            }
            case Q8_0, Q4_0, Q4_1, Q5_0, Q5_1 -> {
                for (int b = 0; b < src.length / WeightKernels.QK; b++) {
                    encodeLegacyBlock(type, src, b * WeightKernels.QK, dst, dstOffset + (long) b * type.blockBytes());
                }
            }
            case Q2_K, Q3_K, Q4_K, Q5_K, Q6_K -> {
                byte[] block = new byte[type.blockBytes()];
                for (int b = 0; b < src.length / KQuantEncoder.QK_K; b++) {
                    KQuantEncoder.encodeBlock(type, src, b * KQuantEncoder.QK_K, block);
                    MemorySegment.copy(block, 0, dst, ValueLayout.JAVA_BYTE, dstOffset + (long) b * block.length,
                            block.length);
                }
            }
        }
    }

    private static void encodeLegacyBlock(GgmlType type, float[] src, int from, MemorySegment dst, long at) {
        switch (type) {
            case Q8_0 -> encodeQ8_0Block(src, from, dst, at);
            case Q4_0 -> encodeQ4_0Block(src, from, dst, at);
            case Q4_1 -> encodeQ4_1Block(src, from, dst, at);
            case Q5_0 -> encodeQ5_0Block(src, from, dst, at);
            case Q5_1 -> encodeQ5_1Block(src, from, dst, at);
            default -> throw new IllegalArgumentException(type + " has no blocks of 32");
        }
    }

    /** {@code src} encoded as {@code type} in a new segment of {@code arena}. */
    public static MemorySegment encode(GgmlType type, float[] src, Arena arena) {
        MemorySegment dst = arena.allocate(type.bytesFor(src.length), WeightKernels.F.vectorByteSize());
        encode(type, src, dst, 0);
        return dst;
    }

    /** bfloat16 bits of {@code f}, rounded to nearest even, as ggml's {@code ggml_compute_fp32_to_bf16}. */
    public static short floatToBFloat16(float f) {
        int u = Float.floatToRawIntBits(f);
        if ((u & 0x7fffffff) > 0x7f800000) {
            return (short) ((u >>> 16) | 64);
        }
        return (short) ((u + (0x7fff + ((u >>> 16) & 1))) >>> 16);
    }

    /** The element of largest magnitude, with its sign (the first of equals), as ggml's Q4_0 and Q5_0 take it. */
    private static float largestMagnitude(float[] src, int from) {
        return largestMagnitude(src, from, WeightKernels.QK);
    }

    /**
     * The element of {@code src[from, from + n)} of largest magnitude, with its sign (the first of equals; NaNs are
     * passed over), as ggml's quantizers find a block's or a group's extreme.
     */
    static float largestMagnitude(float[] src, int from, int n) {
        float amax = 0f;
        float max = 0f;
        for (int j = 0; j < n; j++) {
            float v = src[from + j];
            if (amax < Math.abs(v)) {
                amax = Math.abs(v);
                max = v;
            }
        }
        return max;
    }

    /** The block's least element, as ggml's Q4_1 and Q5_1 find it (from {@code FLT_MAX} down). */
    private static float blockMin(float[] src, int from) {
        float min = Float.MAX_VALUE;
        for (int j = 0; j < WeightKernels.QK; j++) {
            if (src[from + j] < min) {
                min = src[from + j];
            }
        }
        return min;
    }

    /** The block's greatest element, as ggml's Q4_1 and Q5_1 find it (from {@code -FLT_MAX} up). */
    private static float blockMax(float[] src, int from) {
        float max = -Float.MAX_VALUE;
        for (int j = 0; j < WeightKernels.QK; j++) {
            if (src[from + j] > max) {
                max = src[from + j];
            }
        }
        return max;
    }

    private static void encodeQ8_0Block(float[] src, int from, MemorySegment dst, long at) {
        float amax = 0f;
        for (int j = 0; j < WeightKernels.QK; j++) {
            amax = Math.max(amax, Math.abs(src[from + j]));
        }
        float d = amax / Q8_MAX;
        float id = d != 0f ? 1.0f / d : 0.0f;
        dst.set(I16_LE, at, Float.floatToFloat16(d));
        for (int j = 0; j < WeightKernels.QK; j++) {
            dst.set(ValueLayout.JAVA_BYTE, at + Short.BYTES + j, (byte) roundHalfAway(src[from + j] * id));
        }
    }

    private static void encodeQ4_0Block(float[] src, int from, MemorySegment dst, long at) {
        float max = largestMagnitude(src, from);
        float d = max / Q4_MAX_TO;
        float id = d != 0f ? 1.0f / d : 0.0f;
        dst.set(I16_LE, at, Float.floatToFloat16(d));
        int half = WeightKernels.QK / 2;
        for (int j = 0; j < half; j++) {
            int lo = Math.min(Q4_TOP, (byte) (int) (src[from + j] * id + Q4_BIAS));
            int hi = Math.min(Q4_TOP, (byte) (int) (src[from + half + j] * id + Q4_BIAS));
            dst.set(ValueLayout.JAVA_BYTE, at + Short.BYTES + j, (byte) (lo | hi << 4));
        }
    }

    private static void encodeQ4_1Block(float[] src, int from, MemorySegment dst, long at) {
        float min = blockMin(src, from);
        float max = blockMax(src, from);
        float d = (max - min) / Q4_TOP;
        float id = d != 0f ? 1.0f / d : 0.0f;
        dst.set(I16_LE, at, Float.floatToFloat16(d));
        dst.set(I16_LE, at + 2, Float.floatToFloat16(min));
        int half = WeightKernels.QK / 2;
        for (int j = 0; j < half; j++) {
            int lo = Math.min(Q4_TOP, (byte) (int) ((src[from + j] - min) * id + 0.5f));
            int hi = Math.min(Q4_TOP, (byte) (int) ((src[from + half + j] - min) * id + 0.5f));
            dst.set(ValueLayout.JAVA_BYTE, at + 4 + j, (byte) (lo | hi << 4));
        }
    }

    private static void encodeQ5_0Block(float[] src, int from, MemorySegment dst, long at) {
        float max = largestMagnitude(src, from);
        float d = max / Q5_MAX_TO;
        float id = d != 0f ? 1.0f / d : 0.0f;
        dst.set(I16_LE, at, Float.floatToFloat16(d));
        int half = WeightKernels.QK / 2;
        int qh = 0;
        for (int j = 0; j < half; j++) {
            int lo = Math.min(Q5_TOP, (byte) (int) (src[from + j] * id + Q5_BIAS)) & 0xFF;
            int hi = Math.min(Q5_TOP, (byte) (int) (src[from + half + j] * id + Q5_BIAS)) & 0xFF;
            dst.set(ValueLayout.JAVA_BYTE, at + 6 + j, (byte) ((lo & 0xF) | (hi & 0xF) << 4));
            qh |= ((lo & 0x10) >> 4) << j;
            qh |= ((hi & 0x10) >> 4) << (j + half);
        }
        dst.set(I32_LE, at + 2, qh);
    }

    private static void encodeQ5_1Block(float[] src, int from, MemorySegment dst, long at) {
        float min = blockMin(src, from);
        float max = blockMax(src, from);
        float d = (max - min) / Q5_TOP;
        float id = d != 0f ? 1.0f / d : 0.0f;
        dst.set(I16_LE, at, Float.floatToFloat16(d));
        dst.set(I16_LE, at + 2, Float.floatToFloat16(min));
        int half = WeightKernels.QK / 2;
        int qh = 0;
        for (int j = 0; j < half; j++) {
            int lo = (int) ((src[from + j] - min) * id + 0.5f) & 0xFF;
            int hi = (int) ((src[from + half + j] - min) * id + 0.5f) & 0xFF;
            dst.set(ValueLayout.JAVA_BYTE, at + 8 + j, (byte) ((lo & 0xF) | (hi & 0xF) << 4));
            qh |= ((lo & 0x10) >> 4) << j;
            qh |= ((hi & 0x10) >> 4) << (j + half);
        }
        dst.set(I32_LE, at + 4, qh);
    }

    /** C's {@code roundf}: to nearest, halves away from zero. */
    private static int roundHalfAway(float v) {
        int magnitude = Math.round(Math.abs(v));
        return v < 0 ? -magnitude : magnitude;
    }
}
