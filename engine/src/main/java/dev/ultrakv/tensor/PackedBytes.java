package dev.ultrakv.tensor;

import static dev.ultrakv.tensor.WeightKernels.B;
import static dev.ultrakv.tensor.WeightKernels.F;
import static dev.ultrakv.tensor.WeightKernels.I;
import static dev.ultrakv.tensor.WeightKernels.I8;
import static dev.ultrakv.tensor.WeightKernels.LE;

import java.lang.foreign.MemorySegment;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Reads of the packed bytes of quantized blocks, as scalars and as vectors of {@link WeightKernels#L} int lanes,
 * for {@link LegacyQuantKernels} and {@link KQuantKernels}. The vector reads need
 * {@link WeightKernels#QUANT_SIMD} (one byte lane per float lane).
 */
final class PackedBytes {

    private PackedBytes() {
    }

    /** Byte {@code at} of {@code w}, unsigned. */
    static int u8(MemorySegment w, long at) {
        return w.get(I8, at) & 0xFF;
    }

    /** {@link WeightKernels#L} bytes from {@code at}, widened to unsigned ints. */
    static IntVector bytes(MemorySegment w, long at) {
        return (IntVector) ByteVector.fromMemorySegment(B, w, at, LE)
                .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
    }

    /** {@code bits >>> shift & mask} in every lane. */
    static IntVector field(IntVector bits, int shift, int mask) {
        return bits.lanewise(VectorOperators.LSHR, shift).and(mask);
    }

    /** The levels as floats (exactly: they are small integers). */
    static FloatVector toFloat(IntVector q) {
        return (FloatVector) q.convertShape(VectorOperators.I2F, F, 0);
    }
}
