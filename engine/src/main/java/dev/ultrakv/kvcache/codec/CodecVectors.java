package dev.ultrakv.kvcache.codec;

import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The vector shapes the codec kernels share, the little-endian layouts of a slot's fields, and the fixed-order
 * lane sum that makes every score independent of addresses, threads and JIT state.
 *
 * <h2>Notes</h2>
 * <b>Why not {@code Kernels}' constants.</b> They are package-private to {@code dev.ultrakv.tensor}; this class
 * repeats the same choices (preferred float species, byte species of the same lane count, the same fold tree)
 * so that a codec's lane sums round exactly as the float kernels' do.
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
     * Whether one byte load fills exactly one float vector; the vector kernels need it, or a load would read
     * bytes past the group (a 4-lane float vector under the 8-byte minimum byte shape).
     */
    static final boolean BYTE_LANES_MATCH = B.length() == L;

    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;
    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfShort F16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(LE);
    static final ValueLayout.OfByte I8 = ValueLayout.JAVA_BYTE;

    /** The folds of {@link #sumLanes}: lane {@code i} takes lane {@code (i + L/k) mod L}. */
    private static final VectorShuffle<Float> FOLD_HALF = fold(2);
    private static final VectorShuffle<Float> FOLD_QUARTER = fold(4);
    private static final VectorShuffle<Float> FOLD_EIGHTH = fold(8);
    private static final VectorShuffle<Float> FOLD_SIXTEENTH = fold(16);

    private CodecVectors() {
    }

    /**
     * Sums the lanes of {@code v} by the tree {@code Kernels.sumLanes} uses: lane {@code i} plus lane
     * {@code i + L/2}, then the same on the halves, down to lane 0. Unlike {@code reduceLanes(ADD)}, whose order
     * the Vector API leaves open, every run gives the same bits.
     */
    static float sumLanes(FloatVector v) {
        // Constant shuffles and conditions on the constant L, so that C2 turns each fold into one permute.
        v = v.add(v.rearrange(FOLD_HALF));
        if (L >= 4) {
            v = v.add(v.rearrange(FOLD_QUARTER));
        }
        if (L >= 8) {
            v = v.add(v.rearrange(FOLD_EIGHTH));
        }
        if (L >= 16) {
            v = v.add(v.rearrange(FOLD_SIXTEENTH));
        }
        return v.lane(0);
    }

    private static VectorShuffle<Float> fold(int parts) {
        int shift = Math.max(1, L / parts);
        return VectorShuffle.fromOp(F, i -> (i + shift) % L);
    }
}
