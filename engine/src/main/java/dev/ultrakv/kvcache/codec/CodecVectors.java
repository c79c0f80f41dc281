package dev.ultrakv.kvcache.codec;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector shapes the codec kernels share, the little-endian layouts of a slot's fields, and the shuffles and
 * masks of the fixed-order lane sum of four slots at once that makes every score independent of addresses,
 * threads and JIT state.
 *
 * <h2>Notes</h2>
 * <b>Why not {@code WeightKernels}' constants.</b> They are package-private to {@code dev.ultrakv.tensor}; this
 * class makes the same choices (preferred float species, byte species of the same lane count, the same fold tree).
 *
 * <p><b>The four-slot lane sum.</b> Each slot's score ends with the sum of the lanes of one float vector, by the
 * fixed tree of {@code WeightKernels.sumLanes}: lane {@code i} plus lane {@code i + L/2}, then the same on the halves,
 * down to one lane (unlike {@code reduceLanes(ADD)}, whose order the Vector API leaves open). The kernels finish
 * four slots {@code a, b, c, d} together: the first two folds run on pairs, each vector keeping its partial
 * sums in the lanes the other does not need,
 * <pre>
 * ab = (a + a.rearrange(FOLD_HALF)).blend(b + b.rearrange(FOLD_HALF), HALF_BIT)
 * cd = the same for c, d
 * v  = (ab + ab.rearrange(FOLD_QUARTER)).blend(cd + cd.rearrange(UNFOLD_QUARTER), QUARTER_BIT)   quarters a c b d
 * v += v.rearrange(FOLD_EIGHTH) if L ≥ 8;  v += v.rearrange(FOLD_SIXTEENTH) if L ≥ 16
 * v.rearrange(FOUR_SUMS)                                                    the sums of a, b, c, d in lanes 0-3
 * </pre>
 * about half the shuffles and adds of four separate sums, and one vector store for four scores. The bits are
 * the tree's: lane {@code i ≥ L/2} of {@code b + rot(b, L/2)} is {@code b[i] + b[i - L/2]}, the same float sum
 * as the tree's lane {@code i - L/2} (float addition is commutative), and likewise for the quarter fold shifted
 * back.
 *
 * <p><b>No helper methods over vectors.</b> A vector passed to or returned from a method C2 does not inline is
 * boxed on the heap, which costs far more than the arithmetic (measured 5 to 20 times slower). C2 may leave out
 * any method larger than 6 bytes of bytecode once the compilation holds many IR nodes
 * ({@code NodeCountInliningCutoff}), which a few dozen Vector API calls reach, or once the method was compiled
 * on its own into a big one; only the JDK's own {@code @ForceInline} methods are exempt. Which methods it leaves
 * out depends on the order in which they got hot, so a kernel fast in one run was seen slow in the next. The
 * kernels therefore write their vector code inline, as the sketch above, and call only methods that take and
 * return no vectors.
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
     * vector, under the 8-byte minimum byte shape), and the four-slot lane sum has its four lanes.
     */
    static final boolean VECTOR_KERNELS = B.length() == L && L >= 4;

    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfShort F16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfByte I8 = ValueLayout.JAVA_BYTE;

    /** Slots whose lane sums the kernels finish together (see the class notes). */
    static final int SLOTS_PER_SUM = 4;

    /** The folds of the tree: lane {@code i} takes lane {@code (i + L/k) mod L}. */
    static final VectorShuffle<Float> FOLD_HALF = rotation(L / 2);
    static final VectorShuffle<Float> FOLD_QUARTER = rotation(L / 4);
    static final VectorShuffle<Float> FOLD_EIGHTH = rotation(L / 8);
    static final VectorShuffle<Float> FOLD_SIXTEENTH = rotation(L / 16);
    /** The inverse of {@link #FOLD_QUARTER}: lane {@code i} takes lane {@code (i - L/4) mod L}. */
    static final VectorShuffle<Float> UNFOLD_QUARTER = rotation(L - L / 4);
    /** Lanes {@code i} with {@code i & L/2} set: where the second slot of a pair keeps its half sums. */
    static final VectorMask<Float> HALF_BIT = laneBit(L / 2);
    /** Lanes {@code i} with {@code i & L/4} set: where the second pair of slots keeps its quarter sums. */
    static final VectorMask<Float> QUARTER_BIT = laneBit(L / 4);
    /** Moves the four sums, left at lanes 0, L/2, L/4 and 3L/4, to lanes 0 to 3. */
    static final VectorShuffle<Float> FOUR_SUMS = VectorShuffle.fromOp(F,
            i -> i < SLOTS_PER_SUM ? new int[] {0, L / 2, L / 4, 3 * L / 4}[i] : i);

    private CodecVectors() {
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
