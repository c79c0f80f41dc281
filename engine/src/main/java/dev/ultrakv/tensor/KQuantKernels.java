package dev.ultrakv.tensor;

import static dev.ultrakv.tensor.PackedBytes.bytes;
import static dev.ultrakv.tensor.PackedBytes.field;
import static dev.ultrakv.tensor.PackedBytes.toFloat;
import static dev.ultrakv.tensor.PackedBytes.u8;
import static dev.ultrakv.tensor.WeightKernels.F;
import static dev.ultrakv.tensor.WeightKernels.I8;
import static dev.ultrakv.tensor.WeightKernels.L;
import static dev.ultrakv.tensor.WeightKernels.blockScale;
import static dev.ultrakv.tensor.WeightKernels.chunkStart;
import static dev.ultrakv.tensor.WeightKernels.sumLanes;
import static jdk.incubator.vector.VectorOperators.LSHL;
import static jdk.incubator.vector.VectorOperators.LSHR;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;

/**
 * Dequantization and dot products of the K-quants, whose super-blocks of 256 elements are split into sub-blocks of
 * 16 or 32 with their own scales (and, for Q2_K, Q4_K and Q5_K, minimums), laid out as in ggml-common.h and read as
 * ggml's {@code dequantize_row_q*_K} reads them. Element {@code e} of a super-block, in its half {@code h = e / 128}:
 *
 * <ul>
 *   <li>Q2_K (84 bytes): 16 bytes of sub-block (16 elements) scale in the low and min in the high nibble; 64 bytes
 *       of 2-bit levels, byte {@code 32h + e % 32} holding {@code e}'s at bit {@code 2 (e % 128 / 32)}; float16
 *       {@code d}, {@code dmin}. Element = {@code q · (d · scale) - dmin · min}.</li>
 *   <li>Q3_K (110 bytes): 32 bytes {@code hmask}, bit {@code e / 32} of byte {@code e % 32} set when the level is
 *       not lowered by 4; 64 bytes of 2-bit levels as Q2_K's; 12 bytes packing 16 six-bit scales; float16
 *       {@code d}. Element = {@code (q - 4 (1 - hbit)) · (d · (scale - 32))}.</li>
 *   <li>Q4_K (144 bytes): float16 {@code d}, {@code dmin}; 12 bytes packing 8 six-bit scales and mins (ggml's
 *       {@code get_scale_min_k4}) of sub-blocks of 32; 128 bytes of nibbles, byte {@code 32 (e / 64) + e % 32}
 *       holding {@code e}'s at bit {@code 4 (e % 64 / 32)}. Element = {@code q · (d · scale) - dmin · min}.</li>
 *   <li>Q5_K (176 bytes): as Q4_K, with 32 bytes of fifth bits (bit {@code e / 32} of byte {@code e % 32}) before
 *       the nibbles.</li>
 *   <li>Q6_K (210 bytes): 128 bytes of low nibbles, byte {@code 64h + 32 (k % 2) + e % 32} at bit {@code 4 (k / 2)}
 *       where {@code k = e % 128 / 32}; 64 bytes of high 2-bit pairs, byte {@code 32h + e % 32} at bit {@code 2k};
 *       16 signed scales of sub-blocks of 16; float16 {@code d}. Element = {@code (q - 32) · (d · scale)}.</li>
 * </ul>
 *
 * <p>As in {@link LegacyQuantKernels}, each type has a chunk function (a vector of {@link WeightKernels#L}
 * elements, shared by its dot product and copy) and a scalar twin; a chunk never straddles a sub-block, so its
 * scale and min are scalars. Products are rounded before the min is subtracted, as ggml does.
 */
final class KQuantKernels {

    /** Elements per super-block (ggml's QK_K). */
    private static final int QK_K = 256;
    /** Q3_K's and Q6_K's scales are stored with this bias. */
    private static final int Q3_SCALE_ZERO = 32;
    private static final int Q6_LEVEL_ZERO = 32;
    /**
     * Elements per sub-block of Q4_K and Q5_K: their loops take each sub-block's scale and min once for its
     * chunks (a quarter faster than decoding the packed 6-bit pair for every chunk).
     */
    private static final int K4_SUB = 32;

    private KQuantKernels() {
    }

    /** 2-bit level of element {@code e} in the 64 bytes at {@code qs} (Q2_K, Q3_K). */
    private static int twoBits(MemorySegment w, long qs, int e) {
        return (u8(w, qs + e / 128 * 32 + e % 32) >>> (e % 128 / 32 * 2)) & 3;
    }

    private static IntVector twoBitsChunk(MemorySegment w, long qs, int e) {
        return field(bytes(w, qs + e / 128 * 32 + e % 32), e % 128 / 32 * 2, 3);
    }

    /** Nibble of element {@code e} in the 128 bytes at {@code qs} (Q4_K, Q5_K). */
    private static int nibble(MemorySegment w, long qs, int e) {
        return (u8(w, qs + e / 64 * 32 + e % 32) >>> (e % 64 / 32 * 4)) & 0xF;
    }

    private static IntVector nibbleChunk(MemorySegment w, long qs, int e) {
        return field(bytes(w, qs + e / 64 * 32 + e % 32), e % 64 / 32 * 4, 0xF);
    }

    /** Bit {@code e / 32} of byte {@code e % 32} of the 32 bytes at {@code bits} (Q3_K's hmask, Q5_K's qh). */
    private static int highBit(MemorySegment w, long bits, int e) {
        return (u8(w, bits + e % 32) >>> (e / 32)) & 1;
    }

    private static IntVector highBitChunk(MemorySegment w, long bits, int e) {
        return field(bytes(w, bits + e % 32), e / 32, 1);
    }

    /** Six-bit scale {@code j} (0..7) of the 12 bytes at {@code s}, as ggml's {@code get_scale_min_k4}. */
    private static int scaleK4(MemorySegment w, long s, int j) {
        return j < 4 ? u8(w, s + j) & 63 : (u8(w, s + j + 4) & 0xF) | (u8(w, s + j - 4) >>> 6) << 4;
    }

    /** Six-bit min {@code j} (0..7) of the 12 bytes at {@code s}, as ggml's {@code get_scale_min_k4}. */
    private static int minK4(MemorySegment w, long s, int j) {
        return j < 4 ? u8(w, s + j + 4) & 63 : (u8(w, s + j + 4) >>> 4) | (u8(w, s + j) >>> 6) << 4;
    }

    /** Q3_K's six-bit scale {@code j} (0..15), unbiased: low nibbles in bytes 0..7, high pairs in bytes 8..11. */
    private static int scaleQ3(MemorySegment w, long s, int j) {
        int low = (u8(w, s + j % 8) >>> (j / 8 * 4)) & 0xF;
        int high = (u8(w, s + 8 + j % 4) >>> (j / 4 * 2)) & 3;
        return (low | high << 4) - Q3_SCALE_ZERO;
    }

    // Q2_K: scales at 0, levels at 16, d at 80, dmin at 82.

    static float q2kElement(MemorySegment w, long o, int e) {
        int sc = u8(w, o + e / 16);
        float scale = blockScale(w, o + 80) * (sc & 0xF);
        return twoBits(w, o + 16, e) * scale - blockScale(w, o + 82) * (sc >>> 4);
    }

    private static FloatVector q2kChunk(MemorySegment w, long o, int e) {
        int sc = u8(w, o + e / 16);
        float scale = blockScale(w, o + 80) * (sc & 0xF);
        return toFloat(twoBitsChunk(w, o + 16, e)).mul(scale).sub(blockScale(w, o + 82) * (sc >>> 4));
    }

    static float dotQ2_K(MemorySegment w, long firstBlock, float[] x, int xOffset, int blocks) {
        final int blockBytes = GgmlType.Q2_K.blockBytes();
        // The chunk joins the chain `next`, then the chains swap: even chunks go to one, odd ones to the other.
        FloatVector next = FloatVector.zero(F);
        FloatVector other = FloatVector.zero(F);
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            int xo = xOffset + k * QK_K;
            for (int e = 0; e < QK_K; e += L) {
                FloatVector joined = q2kChunk(w, o, e).fma(FloatVector.fromArray(F, x, xo + e), next);
                next = other;
                other = joined;
            }
        }
        return sumLanes(next.add(other));
    }

    static void copyQ2_K(MemorySegment w, long firstBlock, float[] dst, int evenBase, int oddBase, int step,
                         int blocks) {
        final int blockBytes = GgmlType.Q2_K.blockBytes();
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            for (int e = 0; e < QK_K; e += L) {
                q2kChunk(w, o, e).intoArray(dst, chunkStart((k * QK_K + e) / L, evenBase, oddBase, step));
            }
        }
    }

    // Q3_K: hmask at 0, levels at 32, scales at 96, d at 108.

    static float q3kElement(MemorySegment w, long o, int e) {
        int q = twoBits(w, o + 32, e) + 4 * highBit(w, o, e) - 4;
        return q * (blockScale(w, o + 108) * scaleQ3(w, o + 96, e / 16));
    }

    private static FloatVector q3kChunk(MemorySegment w, long o, int e) {
        IntVector q = twoBitsChunk(w, o + 32, e).add(highBitChunk(w, o, e).lanewise(LSHL, 2)).sub(4);
        return toFloat(q).mul(blockScale(w, o + 108) * scaleQ3(w, o + 96, e / 16));
    }

    static float dotQ3_K(MemorySegment w, long firstBlock, float[] x, int xOffset, int blocks) {
        final int blockBytes = GgmlType.Q3_K.blockBytes();
        // The chunk joins the chain `next`, then the chains swap: even chunks go to one, odd ones to the other.
        FloatVector next = FloatVector.zero(F);
        FloatVector other = FloatVector.zero(F);
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            int xo = xOffset + k * QK_K;
            for (int e = 0; e < QK_K; e += L) {
                FloatVector joined = q3kChunk(w, o, e).fma(FloatVector.fromArray(F, x, xo + e), next);
                next = other;
                other = joined;
            }
        }
        return sumLanes(next.add(other));
    }

    static void copyQ3_K(MemorySegment w, long firstBlock, float[] dst, int evenBase, int oddBase, int step,
                         int blocks) {
        final int blockBytes = GgmlType.Q3_K.blockBytes();
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            for (int e = 0; e < QK_K; e += L) {
                q3kChunk(w, o, e).intoArray(dst, chunkStart((k * QK_K + e) / L, evenBase, oddBase, step));
            }
        }
    }

    // Q4_K: d at 0, dmin at 2, scales at 4, nibbles at 16.

    static float q4kElement(MemorySegment w, long o, int e) {
        float scale = blockScale(w, o) * scaleK4(w, o + 4, e / 32);
        return nibble(w, o + 16, e) * scale - blockScale(w, o + 2) * minK4(w, o + 4, e / 32);
    }

    /** Elements {@code [e, e + L)} of sub-block {@code e / 32}, given its {@code d·scale} and {@code dmin·min}. */
    private static FloatVector q4kChunk(MemorySegment w, long o, int e, float scale, float min) {
        return toFloat(nibbleChunk(w, o + 16, e)).mul(scale).sub(min);
    }

    static float dotQ4_K(MemorySegment w, long firstBlock, float[] x, int xOffset, int blocks) {
        if (WeightKernels.Q4_LOOKUP) {
            return dotQ4_KByTable(w, firstBlock, x, xOffset, blocks);
        }
        final int blockBytes = GgmlType.Q4_K.blockBytes();
        // The chunk joins the chain `next`, then the chains swap: even chunks go to one, odd ones to the other.
        FloatVector next = FloatVector.zero(F);
        FloatVector other = FloatVector.zero(F);
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            int xo = xOffset + k * QK_K;
            float d = blockScale(w, o);
            float dmin = blockScale(w, o + 2);
            for (int sub = 0; sub < QK_K / K4_SUB; sub++) {
                float scale = d * scaleK4(w, o + 4, sub);
                float min = dmin * minK4(w, o + 4, sub);
                for (int e = sub * K4_SUB; e < (sub + 1) * K4_SUB; e += L) {
                    FloatVector joined = q4kChunk(w, o, e, scale, min).fma(FloatVector.fromArray(F, x, xo + e), next);
                    next = other;
                    other = joined;
                }
            }
        }
        return sumLanes(next.add(other));
    }

    /** Little-endian reads of a Q4_K or Q5_K super-block's packed scales. */
    private static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);

    /**
     * {@link #dotQ4_K} where a vector has 16 float lanes: each 32 bytes of nibbles hold two sub-blocks (low nibbles
     * the first, high nibbles the second), so each 16-byte load serves two chunks, and a nibble is dequantized by
     * looking it up in its sub-block's table of the 16 values {@code q · scale - min} (computed by the same two
     * roundings as {@link #q4kChunk}, so the same bits). Chunks 0 and 2 of a 64-element group are even, 1 and 3 odd:
     * each chain still takes its chunks in element order.
     */
    private static float dotQ4_KByTable(MemorySegment w, long firstBlock, float[] x, int xOffset, int blocks) {
        final int blockBytes = GgmlType.Q4_K.blockBytes();
        FloatVector even = FloatVector.zero(F);
        FloatVector odd = FloatVector.zero(F);
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            float d = blockScale(w, o);
            float dmin = blockScale(w, o + 2);
            long allScales = k4Scales(w, o + 4);
            long allMins = k4Mins(w, o + 4);
            for (int g = 0; g < QK_K / (2 * K4_SUB); g++) {
                // Sub-blocks 2g and 2g + 1: bytes 2g and 2g + 1.
                int scales = (int) (allScales >>> 32 * (g >>> 1));
                int mins = (int) (allMins >>> 32 * (g >>> 1));
                int shift = 16 * (g % 2);
                IntVector lowTable = NIBBLE_LEVELS.mul(d * (scales >>> shift & 0xFF))
                        .sub(dmin * (mins >>> shift & 0xFF)).reinterpretAsInts();
                IntVector highTable = NIBBLE_LEVELS.mul(d * (scales >>> shift + 8 & 0xFF))
                        .sub(dmin * (mins >>> shift + 8 & 0xFF)).reinterpretAsInts();
                IntVector first = bytes(w, o + 16 + 32L * g);
                IntVector second = bytes(w, o + 16 + 32L * g + 16);
                int xo = xOffset + k * QK_K + 2 * K4_SUB * g;
                // selectFrom takes lane indices modulo 16: the low nibble needs no mask.
                even = first.selectFrom(lowTable).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xo), even);
                odd = second.selectFrom(lowTable).reinterpretAsFloats()
                        .fma(FloatVector.fromArray(F, x, xo + 16), odd);
                even = first.lanewise(LSHR, 4).selectFrom(highTable).reinterpretAsFloats()
                        .fma(FloatVector.fromArray(F, x, xo + 32), even);
                odd = second.lanewise(LSHR, 4).selectFrom(highTable).reinterpretAsFloats()
                        .fma(FloatVector.fromArray(F, x, xo + 48), odd);
            }
        }
        return sumLanes(even.add(odd));
    }

    /**
     * The eight 6-bit scales in the 12 packed bytes at {@code s} (ggml's {@code get_scale_min_k4}), one per byte,
     * scale {@code j} in byte {@code j} of the long: all eight at once, once per super-block, since decoding each
     * apart, with its branch on {@code j}, cost more than the vector work of its 32 weights.
     */
    private static long k4Scales(MemorySegment w, long s) {
        int first = w.get(I32_LE, s);
        int high = (w.get(I32_LE, s + 8) & 0x0F0F0F0F) | (first & 0xC0C0C0C0) >>> 2;
        return (first & 0x3F3F3F3FL) | (long) high << 32;
    }

    /** The eight 6-bit mins, as {@link #k4Scales} gives the scales. */
    private static long k4Mins(MemorySegment w, long s) {
        int second = w.get(I32_LE, s + 4);
        int high = (w.get(I32_LE, s + 8) >>> 4 & 0x0F0F0F0F) | (second & 0xC0C0C0C0) >>> 2;
        return (second & 0x3F3F3F3FL) | (long) high << 32;
    }

    /** Lane {@code q} holds {@code q}: the 16 levels of a nibble before its sub-block's scale and min. */
    private static final FloatVector NIBBLE_LEVELS = FloatVector.fromArray(F, nibbleLevels(), 0);

    private static float[] nibbleLevels() {
        float[] levels = new float[Math.max(L, 16)];
        for (int q = 0; q < levels.length; q++) {
            levels[q] = q;
        }
        return levels;
    }

    static void copyQ4_K(MemorySegment w, long firstBlock, float[] dst, int evenBase, int oddBase, int step,
                         int blocks) {
        final int blockBytes = GgmlType.Q4_K.blockBytes();
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            float d = blockScale(w, o);
            float dmin = blockScale(w, o + 2);
            for (int sub = 0; sub < QK_K / K4_SUB; sub++) {
                float scale = d * scaleK4(w, o + 4, sub);
                float min = dmin * minK4(w, o + 4, sub);
                for (int e = sub * K4_SUB; e < (sub + 1) * K4_SUB; e += L) {
                    q4kChunk(w, o, e, scale, min)
                            .intoArray(dst, chunkStart((k * QK_K + e) / L, evenBase, oddBase, step));
                }
            }
        }
    }

    // Q5_K: d at 0, dmin at 2, scales at 4, fifth bits at 16, nibbles at 48.

    static float q5kElement(MemorySegment w, long o, int e) {
        float scale = blockScale(w, o) * scaleK4(w, o + 4, e / 32);
        int q = nibble(w, o + 48, e) + 16 * highBit(w, o + 16, e);
        return q * scale - blockScale(w, o + 2) * minK4(w, o + 4, e / 32);
    }

    /** Elements {@code [e, e + L)} of sub-block {@code e / 32}, given its {@code d·scale} and {@code dmin·min}. */
    private static FloatVector q5kChunk(MemorySegment w, long o, int e, float scale, float min) {
        IntVector q = nibbleChunk(w, o + 48, e).or(highBitChunk(w, o + 16, e).lanewise(LSHL, 4));
        return toFloat(q).mul(scale).sub(min);
    }

    static float dotQ5_K(MemorySegment w, long firstBlock, float[] x, int xOffset, int blocks) {
        if (L == 16) {
            return dotQ5_KSharedLoads(w, firstBlock, x, xOffset, blocks);
        }
        final int blockBytes = GgmlType.Q5_K.blockBytes();
        // The chunk joins the chain `next`, then the chains swap: even chunks go to one, odd ones to the other.
        FloatVector next = FloatVector.zero(F);
        FloatVector other = FloatVector.zero(F);
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            int xo = xOffset + k * QK_K;
            float d = blockScale(w, o);
            float dmin = blockScale(w, o + 2);
            for (int sub = 0; sub < QK_K / K4_SUB; sub++) {
                float scale = d * scaleK4(w, o + 4, sub);
                float min = dmin * minK4(w, o + 4, sub);
                for (int e = sub * K4_SUB; e < (sub + 1) * K4_SUB; e += L) {
                    FloatVector joined = q5kChunk(w, o, e, scale, min).fma(FloatVector.fromArray(F, x, xo + e), next);
                    next = other;
                    other = joined;
                }
            }
        }
        return sumLanes(next.add(other));
    }

    /**
     * {@link #dotQ5_K} where a vector has 16 float lanes, with Q6_K's shared loads ({@link #dotQ6_KSharedLoads}):
     * at one offset of a 32-element stretch, the 16 bytes of fifth bits serve all eight chunks there (one bit each)
     * and each 16 bytes of nibbles two (low nibbles sub-block {@code 2g}, high ones {@code 2g + 1}), so five loads
     * and widenings serve eight chunks where {@link #q5kChunk} makes two per chunk. Offset 0 holds the even chunks
     * and offset 16 the odd ones, each in element order; scales and mins are those of {@link #dotQ4_KByTable}. The
     * sums are the chunk loop's bit for bit.
     */
    private static float dotQ5_KSharedLoads(MemorySegment w, long firstBlock, float[] x, int xOffset, int blocks) {
        final int blockBytes = GgmlType.Q5_K.blockBytes();
        FloatVector next = FloatVector.zero(F);
        FloatVector other = FloatVector.zero(F);
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            float d = blockScale(w, o);
            float dmin = blockScale(w, o + 2);
            long allScales = k4Scales(w, o + 4);
            long allMins = k4Mins(w, o + 4);
            for (int off = 0; off < 2 * L; off += L) {
                int xo = xOffset + k * QK_K + off;
                IntVector fifth = bytes(w, o + 16 + off);
                FloatVector chain = next;
                for (int g = 0; g < QK_K / (2 * K4_SUB); g++) {
                    IntVector nibbles = bytes(w, o + 48 + 32L * g + off);
                    int scales = (int) (allScales >>> 32 * (g >>> 1));
                    int mins = (int) (allMins >>> 32 * (g >>> 1));
                    int shift = 16 * (g & 1);
                    IntVector low = nibbles.and(0xF).or(field(fifth, 2 * g, 1).lanewise(LSHL, 4));
                    chain = toFloat(low).mul(d * (scales >>> shift & 0xFF)).sub(dmin * (mins >>> shift & 0xFF))
                            .fma(FloatVector.fromArray(F, x, xo + 2 * K4_SUB * g), chain);
                    IntVector high = nibbles.lanewise(LSHR, 4).or(field(fifth, 2 * g + 1, 1).lanewise(LSHL, 4));
                    chain = toFloat(high).mul(d * (scales >>> shift + 8 & 0xFF))
                            .sub(dmin * (mins >>> shift + 8 & 0xFF))
                            .fma(FloatVector.fromArray(F, x, xo + 2 * K4_SUB * g + K4_SUB), chain);
                }
                next = other;
                other = chain;
            }
        }
        return sumLanes(next.add(other));
    }

    static void copyQ5_K(MemorySegment w, long firstBlock, float[] dst, int evenBase, int oddBase, int step,
                         int blocks) {
        final int blockBytes = GgmlType.Q5_K.blockBytes();
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            float d = blockScale(w, o);
            float dmin = blockScale(w, o + 2);
            for (int sub = 0; sub < QK_K / K4_SUB; sub++) {
                float scale = d * scaleK4(w, o + 4, sub);
                float min = dmin * minK4(w, o + 4, sub);
                for (int e = sub * K4_SUB; e < (sub + 1) * K4_SUB; e += L) {
                    q5kChunk(w, o, e, scale, min)
                            .intoArray(dst, chunkStart((k * QK_K + e) / L, evenBase, oddBase, step));
                }
            }
        }
    }

    // Q6_K: low nibbles at 0, high pairs at 128, scales at 192, d at 208.

    static float q6kElement(MemorySegment w, long o, int e) {
        int k = e % 128 / 32;
        int low = (u8(w, o + e / 128 * 64 + k % 2 * 32 + e % 32) >>> (k / 2 * 4)) & 0xF;
        int high = (u8(w, o + 128 + e / 128 * 32 + e % 32) >>> (2 * k)) & 3;
        return ((low | high << 4) - Q6_LEVEL_ZERO) * (blockScale(w, o + 208) * w.get(I8, o + 192 + e / 16));
    }

    /** Elements {@code [e, e + L)}, given the super-block's {@code d} (read once per super-block by the callers). */
    private static FloatVector q6kChunk(MemorySegment w, long o, int e, float d) {
        int k = e % 128 / 32;
        IntVector low = field(bytes(w, o + e / 128 * 64 + k % 2 * 32 + e % 32), k / 2 * 4, 0xF);
        IntVector high = field(bytes(w, o + 128 + e / 128 * 32 + e % 32), 2 * k, 3);
        IntVector q = low.or(high.lanewise(LSHL, 4)).sub(Q6_LEVEL_ZERO);
        return toFloat(q).mul(d * w.get(I8, o + 192 + e / 16));
    }

    static float dotQ6_K(MemorySegment w, long firstBlock, float[] x, int xOffset, int blocks) {
        if (L == 16) {
            return dotQ6_KSharedLoads(w, firstBlock, x, xOffset, blocks);
        }
        final int blockBytes = GgmlType.Q6_K.blockBytes();
        // The chunk joins the chain `next`, then the chains swap: even chunks go to one, odd ones to the other.
        FloatVector next = FloatVector.zero(F);
        FloatVector other = FloatVector.zero(F);
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            int xo = xOffset + k * QK_K;
            float d = blockScale(w, o + 208);
            for (int e = 0; e < QK_K; e += L) {
                FloatVector joined = q6kChunk(w, o, e, d).fma(FloatVector.fromArray(F, x, xo + e), next);
                next = other;
                other = joined;
            }
        }
        return sumLanes(next.add(other));
    }

    /**
     * {@link #dotQ6_K} where a vector has 16 float lanes. The four chunks at one offset of a 128-element half (32
     * elements apart, {@code q = 0..3}) share their bytes: {@code q} and {@code q + 2} take the low and the high
     * nibble of the same 16 bytes of low bits, and all four take their 2-bit pairs from the same 16 bytes, so three
     * loads and byte-to-int widenings serve four chunks where {@link #q6kChunk} makes two per chunk (decode of a
     * Q4_K_M file, a fifth of whose weights are Q6_K, is a quarter faster: BENCHMARKS.md). Offset 0 holds the even
     * chunks and offset 16 the odd ones, each taken in element order, so the sums are the chunk loop's bit for bit.
     * <p>The four chunks stay a loop: written out, the body outgrew what C2 inlines in one compilation
     * ({@code NodeCountInliningCutoff}) and the vectors of the calls left out were boxed (2.5× slower); putting the
     * six bits together in byte lanes first was slower than in int lanes (x86 has no byte shifts).
     */
    private static float dotQ6_KSharedLoads(MemorySegment w, long firstBlock, float[] x, int xOffset, int blocks) {
        final int blockBytes = GgmlType.Q6_K.blockBytes();
        // As in the chunk loop, `next` takes the group's chunks and the chains swap: offset 0 feeds the even chain,
        // offset 16 the odd one.
        FloatVector next = FloatVector.zero(F);
        FloatVector other = FloatVector.zero(F);
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            float d = blockScale(w, o + 208);
            for (int group = 0; group < 4; group++) {
                int h = group >>> 1;
                int off = 16 * (group & 1);
                int xo = xOffset + k * QK_K + 128 * h + off;
                long lows = o + 64L * h + off;
                long scales = o + 192 + 8L * h + (group & 1);
                IntVector lowA = bytes(w, lows);
                IntVector lowB = bytes(w, lows + 32);
                IntVector high = bytes(w, o + 128 + 32L * h + off);
                FloatVector chain = next;
                for (int q = 0; q < 4; q++) {
                    IntVector low = field((q & 1) == 0 ? lowA : lowB, 4 * (q >>> 1), 0xF);
                    IntVector level = low.or(field(high, 2 * q, 3).lanewise(LSHL, 4)).sub(Q6_LEVEL_ZERO);
                    chain = toFloat(level).mul(d * w.get(I8, scales + 2 * q))
                            .fma(FloatVector.fromArray(F, x, xo + 32 * q), chain);
                }
                next = other;
                other = chain;
            }
        }
        return sumLanes(next.add(other));
    }

    static void copyQ6_K(MemorySegment w, long firstBlock, float[] dst, int evenBase, int oddBase, int step,
                         int blocks) {
        final int blockBytes = GgmlType.Q6_K.blockBytes();
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            float d = blockScale(w, o + 208);
            for (int e = 0; e < QK_K; e += L) {
                q6kChunk(w, o, e, d).intoArray(dst, chunkStart((k * QK_K + e) / L, evenBase, oddBase, step));
            }
        }
    }
}
