package dev.ultrakv.kvcache.codec;

import static dev.ultrakv.kvcache.codec.CodecVectors.F;
import static dev.ultrakv.kvcache.codec.CodecVectors.L;

import java.lang.foreign.MemorySegment;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Asymmetric 2-bit integers: codes 0..3, a float16 scale and minimum per group; byte {@code i} of a group holds
 * channels {@code i, i + G/4, i + G/2, i + 3G/4} in bits 0-1, 2-3, 4-5 and 6-7. 2.5 bits per value at
 * {@code headSize} 64. Layout, error bound and kernels: {@link AsymmetricIntCodec}.
 */
final class Int2Codec extends AsymmetricIntCodec {
    static final Int2Codec INSTANCE = new Int2Codec();

    /** Mask of one 2-bit code. */
    private static final int CRUMB = 0x03;

    private Int2Codec() {
        super(KvCodecKind.INT2);
    }

    @Override
    void scoresVector(float[] q, int qOffset, float[] qSums, MemorySegment keys, long runByteOffset, int count,
                      Run run, float[] scores, int scoresOffset, float root) {
        int group = run.group();
        int groups = run.groups();
        int part = group / 4;
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
                    acc = toFloat(packed.and(CRUMB)).fma(FloatVector.fromArray(F, q, qc + i), acc);
                    acc = toFloat(packed.lanewise(VectorOperators.LSHR, 2).and(CRUMB))
                            .fma(FloatVector.fromArray(F, q, qc + part + i), acc);
                    acc = toFloat(packed.lanewise(VectorOperators.LSHR, 4).and(CRUMB))
                            .fma(FloatVector.fromArray(F, q, qc + 2 * part + i), acc);
                    acc = toFloat(packed.lanewise(VectorOperators.LSHR, 6))
                            .fma(FloatVector.fromArray(F, q, qc + 3 * part + i), acc);
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
        int part = group / 4;
        long codes = runByteOffset + run.header();
        for (int g = 0; g < groups; g++) {
            FloatVector bias = FloatVector.broadcast(F, factors[count * groups + g]);
            for (int i = 0; i < part; i += L) {
                int o0 = outOffset + g * group + i;
                FloatVector a0 = FloatVector.fromArray(F, out, o0);
                FloatVector a1 = FloatVector.fromArray(F, out, o0 + part);
                FloatVector a2 = FloatVector.fromArray(F, out, o0 + 2 * part);
                FloatVector a3 = FloatVector.fromArray(F, out, o0 + 3 * part);
                long at = codes + (long) g * part + i;
                for (int t = 0; t < count; t++) {
                    IntVector packed = bytes(values, at + t * run.slotBytes());
                    FloatVector factor = FloatVector.broadcast(F, factors[t * groups + g]);
                    a0 = toFloat(packed.and(CRUMB)).fma(factor, a0);
                    a1 = toFloat(packed.lanewise(VectorOperators.LSHR, 2).and(CRUMB)).fma(factor, a1);
                    a2 = toFloat(packed.lanewise(VectorOperators.LSHR, 4).and(CRUMB)).fma(factor, a2);
                    a3 = toFloat(packed.lanewise(VectorOperators.LSHR, 6)).fma(factor, a3);
                }
                a0.add(bias).intoArray(out, o0);
                a1.add(bias).intoArray(out, o0 + part);
                a2.add(bias).intoArray(out, o0 + 2 * part);
                a3.add(bias).intoArray(out, o0 + 3 * part);
            }
        }
    }

    @Override
    public String toString() {
        return "Int2Codec";
    }
}
