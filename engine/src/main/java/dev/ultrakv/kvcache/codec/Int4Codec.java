package dev.ultrakv.kvcache.codec;

import static dev.ultrakv.kvcache.codec.CodecVectors.F;
import static dev.ultrakv.kvcache.codec.CodecVectors.L;

import java.lang.foreign.MemorySegment;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Asymmetric 4-bit integers: codes 0..15, a float16 scale and minimum per group; byte {@code i} of a group holds
 * channel {@code i} in its low nibble and channel {@code i + G/2} in its high nibble. 4.5 bits per value at
 * {@code headSize} 64. Layout, error bound and kernels: {@link AsymmetricIntCodec}.
 */
final class Int4Codec extends AsymmetricIntCodec {
    static final Int4Codec INSTANCE = new Int4Codec();

    /** Mask of one nibble. */
    private static final int NIBBLE = 0x0F;
    /** Shift of the high nibble. */
    private static final int HIGH = 4;

    private Int4Codec() {
        super(KvCodecKind.INT4);
    }

    @Override
    void slotLanes(float[] q, int qOffset, float[] buffer, MemorySegment keys, long first, int n, Run run, int at) {
        int group = run.group();
        int part = group / 2;
        for (int k = 0; k < n; k++) {
            long slot = first + k * run.slotBytes();
            long codes = slot + run.header();
            FloatVector total = FloatVector.zero(F);
            for (int g = 0; g < run.groups(); g++) {
                FloatVector acc = FloatVector.zero(F);
                int qc = qOffset + g * group;
                long gc = codes + (long) g * part;
                for (int i = 0; i < part; i += L) {
                    IntVector packed = bytes(keys, gc + i);
                    acc = low(packed).fma(FloatVector.fromArray(F, q, qc + i), acc);
                    acc = high(packed).fma(FloatVector.fromArray(F, q, qc + part + i), acc);
                }
                total = acc.fma(scaleVector(keys, slot, g), total);
                total = FloatVector.fromArray(F, buffer, g * L).fma(minVector(keys, slot, g), total);
            }
            total.intoArray(buffer, at + k * L);
        }
    }

    /** The low nibbles of packed bytes (in int lanes) as floats. */
    private static FloatVector low(IntVector packed) {
        return toFloat(packed.and(NIBBLE));
    }

    /** The high nibbles of packed bytes (in int lanes) as floats. */
    private static FloatVector high(IntVector packed) {
        return toFloat(packed.lanewise(VectorOperators.LSHR, HIGH));
    }

    @Override
    void valuesVector(float[] factors, MemorySegment values, long runByteOffset, int count, Run run, float[] out,
                      int outOffset) {
        int group = run.group();
        int groups = run.groups();
        int part = group / 2;
        long codes = runByteOffset + run.header();
        for (int g = 0; g < groups; g++) {
            FloatVector bias = FloatVector.broadcast(F, factors[count * groups + g]);
            for (int i = 0; i < part; i += L) {
                int low = outOffset + g * group + i;
                int high = low + part;
                FloatVector lo = FloatVector.fromArray(F, out, low);
                FloatVector hi = FloatVector.fromArray(F, out, high);
                long at = codes + (long) g * part + i;
                for (int t = 0; t < count; t++) {
                    IntVector packed = bytes(values, at + t * run.slotBytes());
                    FloatVector factor = FloatVector.broadcast(F, factors[t * groups + g]);
                    lo = low(packed).fma(factor, lo);
                    hi = high(packed).fma(factor, hi);
                }
                lo.add(bias).intoArray(out, low);
                hi.add(bias).intoArray(out, high);
            }
        }
    }

    @Override
    public String toString() {
        return "Int4Codec";
    }
}
