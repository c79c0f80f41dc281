package dev.ultrakv.tensor;

import static dev.ultrakv.tensor.PackedBytes.bytes;
import static dev.ultrakv.tensor.PackedBytes.field;
import static dev.ultrakv.tensor.PackedBytes.toFloat;
import static dev.ultrakv.tensor.PackedBytes.u8;
import static dev.ultrakv.tensor.WeightKernels.F;
import static dev.ultrakv.tensor.WeightKernels.I;
import static dev.ultrakv.tensor.WeightKernels.L;
import static dev.ultrakv.tensor.WeightKernels.LE;
import static dev.ultrakv.tensor.WeightKernels.blockScale;
import static dev.ultrakv.tensor.WeightKernels.chunkStart;
import static dev.ultrakv.tensor.WeightKernels.sumLanes;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Dequantization and dot products of the 32-element types Q4_1, Q5_0 and Q5_1, laid out as in ggml-common.h:
 *
 * <ul>
 *   <li>Q4_1 (20 bytes): float16 {@code d}, float16 {@code m}, 16 bytes of nibbles. Byte {@code j} holds element
 *       {@code j} in its low nibble and {@code j + 16} in its high nibble; element = {@code q · d + m}.</li>
 *   <li>Q5_0 (22 bytes): float16 {@code d}, a little-endian 32-bit {@code qh} whose bit {@code i} is the fifth bit
 *       of element {@code i}, then the nibbles as in Q4_1; element = {@code (q - 16) · d}.</li>
 *   <li>Q5_1 (24 bytes): float16 {@code d} and {@code m}, {@code qh}, the nibbles; element = {@code q · d + m}.</li>
 * </ul>
 *
 * <p>Each type has one function giving a chunk of {@link WeightKernels#L} elements as a vector ({@code q41Chunk},
 * ...), shared by its dot product and its copy so that the two give the same floats, and a scalar twin
 * ({@code q41Element}, ...) for single elements. The dot products add in the two-chain canonical order of
 * {@link WeightKernels#dotTwoChains}. The chunk functions are small so that C2 inlines them into the loops: a
 * vector returned from a method that is not inlined is boxed. For the same reason a dot loop takes one chunk per
 * iteration and then swaps the roles of its two chains: with two chunks per iteration C2 ran out of its inlining
 * budget (NodeCountInliningCutoff) inside the second, boxed its vectors and ran 3 times slower.
 */
final class LegacyQuantKernels {

    /** Elements per block. */
    private static final int QK = 32;
    /** Elements per half block: byte {@code j} of the nibbles holds elements {@code j} and {@code j + 16}. */
    private static final int HALF = QK / 2;
    /** Level offset of Q5_0: a 5-bit {@code q} means {@code q - 16}. */
    private static final int Q5_0_ZERO = 16;
    private static final ValueLayout.OfInt I32_LE = ValueLayout.JAVA_INT_UNALIGNED.withOrder(LE);
    /** Lane {@code i} holds {@code i}: the shift that brings lane {@code i}'s fifth bit down from {@code qh}. */
    private static final IntVector IOTA = IntVector.zero(I).addIndex(1);

    private LegacyQuantKernels() {
    }

    /** The nibble of element {@code e} (0..31) of the nibbles starting at {@code qs}. */
    private static int nibble(MemorySegment w, long qs, int e) {
        return (u8(w, qs + e % HALF) >>> (e / HALF * 4)) & 0xF;
    }

    /** The nibbles of elements {@code [e, e + L)} of the nibbles starting at {@code qs}. */
    private static IntVector nibbles(MemorySegment w, long qs, int e) {
        return field(bytes(w, qs + e % HALF), e / HALF * 4, 0xF);
    }

    /** The fifth bits of elements {@code [e, e + L)}, in place (0 or 16), from the 32-bit {@code qh} at {@code at}. */
    private static IntVector fifthBits(MemorySegment w, long at, int e) {
        return IntVector.broadcast(I, w.get(I32_LE, at) >>> e).lanewise(VectorOperators.LSHR, IOTA).and(1)
                .lanewise(VectorOperators.LSHL, 4);
    }

    // Q4_1: d at 0, m at 2, nibbles at 4.

    static float q41Element(MemorySegment w, long o, int e) {
        return nibble(w, o + 4, e) * blockScale(w, o) + blockScale(w, o + 2);
    }

    private static FloatVector q41Chunk(MemorySegment w, long o, int e) {
        return toFloat(nibbles(w, o + 4, e)).mul(blockScale(w, o)).add(blockScale(w, o + 2));
    }

    static float dotQ4_1(MemorySegment w, long firstBlock, float[] x, int xOffset, int blocks) {
        final int blockBytes = GgmlType.Q4_1.blockBytes();
        // The chunk joins the chain `next`, then the chains swap: even chunks go to one, odd ones to the other.
        FloatVector next = FloatVector.zero(F);
        FloatVector other = FloatVector.zero(F);
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            int xo = xOffset + k * QK;
            for (int e = 0; e < QK; e += L) {
                FloatVector joined = q41Chunk(w, o, e).fma(FloatVector.fromArray(F, x, xo + e), next);
                next = other;
                other = joined;
            }
        }
        return sumLanes(next.add(other));
    }

    static void copyQ4_1(MemorySegment w, long firstBlock, float[] dst, int evenBase, int oddBase, int step,
                         int blocks) {
        final int blockBytes = GgmlType.Q4_1.blockBytes();
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            for (int e = 0; e < QK; e += L) {
                q41Chunk(w, o, e).intoArray(dst, chunkStart((k * QK + e) / L, evenBase, oddBase, step));
            }
        }
    }

    // Q5_0: d at 0, qh at 2, nibbles at 6.

    static float q50Element(MemorySegment w, long o, int e) {
        int q = nibble(w, o + 6, e) | ((w.get(I32_LE, o + 2) >>> e) & 1) << 4;
        return (q - Q5_0_ZERO) * blockScale(w, o);
    }

    private static FloatVector q50Chunk(MemorySegment w, long o, int e) {
        IntVector q = nibbles(w, o + 6, e).or(fifthBits(w, o + 2, e)).sub(Q5_0_ZERO);
        return toFloat(q).mul(blockScale(w, o));
    }

    static float dotQ5_0(MemorySegment w, long firstBlock, float[] x, int xOffset, int blocks) {
        final int blockBytes = GgmlType.Q5_0.blockBytes();
        // The chunk joins the chain `next`, then the chains swap: even chunks go to one, odd ones to the other.
        FloatVector next = FloatVector.zero(F);
        FloatVector other = FloatVector.zero(F);
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            int xo = xOffset + k * QK;
            for (int e = 0; e < QK; e += L) {
                FloatVector joined = q50Chunk(w, o, e).fma(FloatVector.fromArray(F, x, xo + e), next);
                next = other;
                other = joined;
            }
        }
        return sumLanes(next.add(other));
    }

    static void copyQ5_0(MemorySegment w, long firstBlock, float[] dst, int evenBase, int oddBase, int step,
                         int blocks) {
        final int blockBytes = GgmlType.Q5_0.blockBytes();
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            for (int e = 0; e < QK; e += L) {
                q50Chunk(w, o, e).intoArray(dst, chunkStart((k * QK + e) / L, evenBase, oddBase, step));
            }
        }
    }

    // Q5_1: d at 0, m at 2, qh at 4, nibbles at 8.

    static float q51Element(MemorySegment w, long o, int e) {
        int q = nibble(w, o + 8, e) | ((w.get(I32_LE, o + 4) >>> e) & 1) << 4;
        return q * blockScale(w, o) + blockScale(w, o + 2);
    }

    private static FloatVector q51Chunk(MemorySegment w, long o, int e) {
        IntVector q = nibbles(w, o + 8, e).or(fifthBits(w, o + 4, e));
        return toFloat(q).mul(blockScale(w, o)).add(blockScale(w, o + 2));
    }

    static float dotQ5_1(MemorySegment w, long firstBlock, float[] x, int xOffset, int blocks) {
        final int blockBytes = GgmlType.Q5_1.blockBytes();
        // The chunk joins the chain `next`, then the chains swap: even chunks go to one, odd ones to the other.
        FloatVector next = FloatVector.zero(F);
        FloatVector other = FloatVector.zero(F);
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            int xo = xOffset + k * QK;
            for (int e = 0; e < QK; e += L) {
                FloatVector joined = q51Chunk(w, o, e).fma(FloatVector.fromArray(F, x, xo + e), next);
                next = other;
                other = joined;
            }
        }
        return sumLanes(next.add(other));
    }

    static void copyQ5_1(MemorySegment w, long firstBlock, float[] dst, int evenBase, int oddBase, int step,
                         int blocks) {
        final int blockBytes = GgmlType.Q5_1.blockBytes();
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            for (int e = 0; e < QK; e += L) {
                q51Chunk(w, o, e).intoArray(dst, chunkStart((k * QK + e) / L, evenBase, oddBase, step));
            }
        }
    }
}
