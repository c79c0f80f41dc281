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
    void scoresVector(float[] q, int qOffset, float[] qSums, MemorySegment keys, long runByteOffset, int count,
                      Run run, float[] scores, int scoresOffset, float root) {
        int group = run.group();
        int groups = run.groups();
        int part = group / 2;
        for (int t = 0; t < count; t++) {
            long slot = runByteOffset + t * run.slotBytes();
            long codes = slot + run.header();
            FloatVector total = FloatVector.zero(F);
            float bias = 0f;
            for (int g = 0; g < groups; g++) {
                FloatVector acc = FloatVector.zero(F);
                int qc = qOffset + g * group;
                long gc = codes + (long) g * part;
                for (int i = 0; i < part; i += L) {
                    IntVector packed = bytes(keys, gc + i);
                    acc = toFloat(packed.and(NIBBLE)).fma(FloatVector.fromArray(F, q, qc + i), acc);
                    acc = toFloat(packed.lanewise(VectorOperators.LSHR, HIGH))
                            .fma(FloatVector.fromArray(F, q, qc + part + i), acc);
                }
                total = acc.fma(FloatVector.broadcast(F, scale(keys, slot, g)), total);
                bias += min(keys, slot, g) * qSums[g];
            }
            scores[scoresOffset + t] = (CodecVectors.sumLanes(total) + bias) / root;
        }
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
                    lo = toFloat(packed.and(NIBBLE)).fma(factor, lo);
                    hi = toFloat(packed.lanewise(VectorOperators.LSHR, HIGH)).fma(factor, hi);
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
