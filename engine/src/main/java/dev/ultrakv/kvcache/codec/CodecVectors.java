package dev.ultrakv.kvcache.codec;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector shapes the codec kernels share, the little-endian layouts of a slot's fields, and the fixed-order
 * lane sum of four slots at once that makes every score independent of addresses, threads and JIT state.
 *
 * <h2>Notes</h2>
 * <b>Why not {@code Kernels}' constants.</b> They are package-private to {@code dev.ultrakv.tensor}; this class
 * makes the same choices (preferred float species, byte species of the same lane count, the same fold tree).
 *
 * <p><b>Small methods only.</b> A vector passed to or returned from a method C2 does not inline is boxed on the
 * heap, which costs more than the arithmetic. C2 always inlines methods of at most 35 bytes of bytecode
 * ({@code MaxInlineSize}), but a larger one only at call sites it finds hot, and never once it has compiled the
 * method on its own into more than {@code InlineSmallCode} bytes: a 120-byte helper returning a slot's sums was
 * seen to run 20 times slower for that reason. So every helper here that takes or returns a vector is under 35
 * bytes, and the kernels keep their loops in one method.
 */
final class CodecVectors {
    /** The widest float vector the CPU runs natively (16 lanes on AVX-512, 8 on AVX2). */
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Floats per vector. */
    static final int L = F.length();
    /** Ints of the same lane count as {@link #F}: packed codes are split in 32-bit lanes (x86 has no byte shift). */
    static final VectorSpecies<Integer> I = F.withLanes(int.class);
    /** Bytes of the same lane count as {@link #F} (at least the 64-bit minimum shape). */
    static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class,
            VectorShape.forBitSize(Math.max(Long.SIZE, L * Byte.SIZE)));
    /**
     * Whether the vector kernels apply: one byte load fills exactly one float vector (not so for a 4-lane float
     * vector, under the 8-byte minimum byte shape), and {@link #sumLanes4} has its four lanes.
     */
    static final boolean VECTOR_KERNELS = B.length() == L && L >= 4;

    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfShort F16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfByte I8 = ValueLayout.JAVA_BYTE;

    /** Slots whose scores {@link #sumLanes4} finishes together. */
    static final int SLOTS_PER_SUM = 4;

    /** The folds of the tree: lane {@code i} takes lane {@code (i + L/k) mod L}. */
    private static final VectorShuffle<Float> FOLD_HALF = rotation(L / 2);
    private static final VectorShuffle<Float> FOLD_QUARTER = rotation(L / 4);
    private static final VectorShuffle<Float> FOLD_EIGHTH = rotation(L / 8);
    private static final VectorShuffle<Float> FOLD_SIXTEENTH = rotation(L / 16);
    /** The inverse of {@link #FOLD_QUARTER}: lane {@code i} takes lane {@code (i - L/4) mod L}. */
    private static final VectorShuffle<Float> UNFOLD_QUARTER = rotation(L - L / 4);
    /** Lanes {@code i} with {@code i & L/2} set: where the second slot of a pair keeps its half sums. */
    private static final VectorMask<Float> HALF_BIT = laneBit(L / 2);
    /** Lanes {@code i} with {@code i & L/4} set: where the second pair of slots keeps its quarter sums. */
    private static final VectorMask<Float> QUARTER_BIT = laneBit(L / 4);
    /** Moves the four sums of {@link #sumLanes4}, left at lanes 0, L/2, L/4 and 3L/4, to lanes 0 to 3. */
    private static final VectorShuffle<Float> FOUR_SUMS = VectorShuffle.fromOp(F,
            i -> i < SLOTS_PER_SUM ? new int[] {0, L / 2, L / 4, 3 * L / 4}[i] : i);

    private CodecVectors() {
    }

    /**
     * The lane sums of four vectors, in lanes 0 to 3 of the result (the other lanes are left over), each by the
     * fixed tree of {@code Kernels.sumLanes}: lane {@code i} plus lane {@code i + L/2}, then the same on the
     * halves, down to one lane. Unlike {@code reduceLanes(ADD)}, whose order the Vector API leaves open, every run
     * gives the same bits.
     *
     * <p>The first two folds run on pairs of vectors, each keeping its partial sums in the lanes the other does
     * not need (one blend instead of a fold and an extraction each), the last ones on all four together: about
     * half the shuffles and adds of four separate sums. The bits are the tree's: lane {@code i ≥ L/2} of
     * {@code b + rot(b, L/2)} is {@code b[i] + b[i - L/2]}, the same float sum as the tree's lane
     * {@code i - L/2} (float addition is commutative), and likewise for the quarter fold shifted back.
     */
    static FloatVector sumLanes4(FloatVector a, FloatVector b, FloatVector c, FloatVector d) {
        return foldRest(foldQuarters(foldHalves(a, b), foldHalves(c, d)));
    }

    /** Half sums of {@code a} in the lanes below L/2, of {@code b} in those above. */
    private static FloatVector foldHalves(FloatVector a, FloatVector b) {
        return a.add(a.rearrange(FOLD_HALF)).blend(b.add(b.rearrange(FOLD_HALF)), HALF_BIT);
    }

    /** Quarter sums of both halves of {@code ab} and of {@code cd}, in the quarters: a, c, b, d. */
    private static FloatVector foldQuarters(FloatVector ab, FloatVector cd) {
        return ab.add(ab.rearrange(FOLD_QUARTER)).blend(cd.add(cd.rearrange(UNFOLD_QUARTER)), QUARTER_BIT);
    }

    /** The remaining folds inside each quarter, then the four sums to lanes 0 to 3. */
    private static FloatVector foldRest(FloatVector v) {
        return foldSixteenths(foldEighths(v)).rearrange(FOUR_SUMS);
    }

    private static FloatVector foldEighths(FloatVector v) {
        return L >= 8 ? v.add(v.rearrange(FOLD_EIGHTH)) : v;
    }

    private static FloatVector foldSixteenths(FloatVector v) {
        return L >= 16 ? v.add(v.rearrange(FOLD_SIXTEENTH)) : v;
    }

    /** Lanes {@code [0, min(n, 4))}: the sums of {@link #sumLanes4} that belong to real slots. */
    static VectorMask<Float> firstSums(int n) {
        return F.indexInRange(0, Math.min(n, SLOTS_PER_SUM));
    }

    private static VectorShuffle<Float> rotation(int shift) {
        int s = Math.max(1, shift) % L;
        return VectorShuffle.fromOp(F, i -> (i + s) % L);
    }

    private static VectorMask<Float> laneBit(int bit) {
        boolean[] set = new boolean[L];
        for (int i = 0; i < L; i++) {
            set[i] = (i & Math.max(1, bit)) != 0;
        }
        return VectorMask.fromArray(F, set, 0);
    }
}
