package dev.ultrakv.kvcache.codec;

import static dev.ultrakv.kvcache.codec.CodecVectors.B;
import static dev.ultrakv.kvcache.codec.CodecVectors.F;
import static dev.ultrakv.kvcache.codec.CodecVectors.F16_LE;
import static dev.ultrakv.kvcache.codec.CodecVectors.I;
import static dev.ultrakv.kvcache.codec.CodecVectors.L;
import static dev.ultrakv.kvcache.codec.CodecVectors.LE;

import java.lang.foreign.MemorySegment;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Asymmetric 2-bit integers: codes 0..3, a float16 scale and minimum per group; byte {@code i} of a group holds
 * channels {@code i, i + G/4, i + G/2, i + 3G/4} in bits 0-1, 2-3, 4-5 and 6-7. 2.5 bits per value at
 * {@code headSize} 64. Layout, error bound and kernels: {@link AsymmetricIntCodec}. The packed bytes are
 * zero-extended to int lanes, where shifts are native (x86 has no byte shift), and the vector code is written
 * out in full (see {@link CodecVectors} for why).
 */
final class Int2Codec extends AsymmetricIntCodec {
    static final Int2Codec INSTANCE = new Int2Codec(false);
    /** The zero-centred variant (scale only), for the values of caches whose keys are per channel. */
    static final Int2Codec CENTRED = new Int2Codec(true);

    /** Mask of one 2-bit code. */
    private static final int CRUMB = 0x03;

    private Int2Codec(boolean centred) {
        super(KvCodecKind.INT2, centred);
    }

    @Override
    void slotLanes(float[] q, int qOffset, float[] buffer, MemorySegment keys, long first, int n, Run run, int at) {
        int group = run.group();
        int part = group / 4;
        long slotBytes = run.slotBytes();
        long s0 = first;
        long s1 = n > 1 ? s0 + slotBytes : s0;
        long s2 = n > 2 ? s0 + 2 * slotBytes : s1;
        long s3 = n > 3 ? s0 + 3 * slotBytes : s2;
        long header = run.header();
        FloatVector zero = FloatVector.zero(F);
        FloatVector total0 = zero;
        FloatVector total1 = zero;
        FloatVector total2 = zero;
        FloatVector total3 = zero;
        for (int g = 0; g < run.groups(); g++) {
            FloatVector acc0 = zero;
            FloatVector acc1 = zero;
            FloatVector acc2 = zero;
            FloatVector acc3 = zero;
            int qc = qOffset + g * group;
            long gc = header + (long) g * part;
            for (int i = 0; i < part; i += L) {
                FloatVector q0 = FloatVector.fromArray(F, q, qc + i);
                FloatVector q1 = FloatVector.fromArray(F, q, qc + part + i);
                FloatVector q2 = FloatVector.fromArray(F, q, qc + 2 * part + i);
                FloatVector q3 = FloatVector.fromArray(F, q, qc + 3 * part + i);
                    IntVector p0 = (IntVector) ByteVector.fromMemorySegment(B, keys, s0 + gc + i, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    acc0 = ((FloatVector) p0.and(CRUMB).convertShape(VectorOperators.I2F, F, 0)).fma(q0, acc0);
                    acc0 = ((FloatVector) p0.lanewise(VectorOperators.LSHR, 2).and(CRUMB)
                            .convertShape(VectorOperators.I2F, F, 0)).fma(q1, acc0);
                    acc0 = ((FloatVector) p0.lanewise(VectorOperators.LSHR, 4).and(CRUMB)
                            .convertShape(VectorOperators.I2F, F, 0)).fma(q2, acc0);
                    acc0 = ((FloatVector) p0.lanewise(VectorOperators.LSHR, 6)
                            .convertShape(VectorOperators.I2F, F, 0)).fma(q3, acc0);
                    IntVector p1 = (IntVector) ByteVector.fromMemorySegment(B, keys, s1 + gc + i, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    acc1 = ((FloatVector) p1.and(CRUMB).convertShape(VectorOperators.I2F, F, 0)).fma(q0, acc1);
                    acc1 = ((FloatVector) p1.lanewise(VectorOperators.LSHR, 2).and(CRUMB)
                            .convertShape(VectorOperators.I2F, F, 0)).fma(q1, acc1);
                    acc1 = ((FloatVector) p1.lanewise(VectorOperators.LSHR, 4).and(CRUMB)
                            .convertShape(VectorOperators.I2F, F, 0)).fma(q2, acc1);
                    acc1 = ((FloatVector) p1.lanewise(VectorOperators.LSHR, 6)
                            .convertShape(VectorOperators.I2F, F, 0)).fma(q3, acc1);
                    IntVector p2 = (IntVector) ByteVector.fromMemorySegment(B, keys, s2 + gc + i, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    acc2 = ((FloatVector) p2.and(CRUMB).convertShape(VectorOperators.I2F, F, 0)).fma(q0, acc2);
                    acc2 = ((FloatVector) p2.lanewise(VectorOperators.LSHR, 2).and(CRUMB)
                            .convertShape(VectorOperators.I2F, F, 0)).fma(q1, acc2);
                    acc2 = ((FloatVector) p2.lanewise(VectorOperators.LSHR, 4).and(CRUMB)
                            .convertShape(VectorOperators.I2F, F, 0)).fma(q2, acc2);
                    acc2 = ((FloatVector) p2.lanewise(VectorOperators.LSHR, 6)
                            .convertShape(VectorOperators.I2F, F, 0)).fma(q3, acc2);
                    IntVector p3 = (IntVector) ByteVector.fromMemorySegment(B, keys, s3 + gc + i, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    acc3 = ((FloatVector) p3.and(CRUMB).convertShape(VectorOperators.I2F, F, 0)).fma(q0, acc3);
                    acc3 = ((FloatVector) p3.lanewise(VectorOperators.LSHR, 2).and(CRUMB)
                            .convertShape(VectorOperators.I2F, F, 0)).fma(q1, acc3);
                    acc3 = ((FloatVector) p3.lanewise(VectorOperators.LSHR, 4).and(CRUMB)
                            .convertShape(VectorOperators.I2F, F, 0)).fma(q2, acc3);
                    acc3 = ((FloatVector) p3.lanewise(VectorOperators.LSHR, 6)
                            .convertShape(VectorOperators.I2F, F, 0)).fma(q3, acc3);
            }
            FloatVector qSum = FloatVector.fromArray(F, buffer, g * L);
            long h = (long) g * headerBytes;
            // The header fields read in place: a call C2 leaves out of line here costs more than the read.
            float scale0 = Float.float16ToFloat(keys.get(F16_LE, s0 + h));
            float min0 = centred ? -centre * scale0 : Float.float16ToFloat(keys.get(F16_LE, s0 + h + MIN_OFFSET));
            float scale1 = Float.float16ToFloat(keys.get(F16_LE, s1 + h));
            float min1 = centred ? -centre * scale1 : Float.float16ToFloat(keys.get(F16_LE, s1 + h + MIN_OFFSET));
            float scale2 = Float.float16ToFloat(keys.get(F16_LE, s2 + h));
            float min2 = centred ? -centre * scale2 : Float.float16ToFloat(keys.get(F16_LE, s2 + h + MIN_OFFSET));
            float scale3 = Float.float16ToFloat(keys.get(F16_LE, s3 + h));
            float min3 = centred ? -centre * scale3 : Float.float16ToFloat(keys.get(F16_LE, s3 + h + MIN_OFFSET));
            total0 = acc0.fma(FloatVector.broadcast(F, scale0), total0);
            total0 = qSum.fma(FloatVector.broadcast(F, min0), total0);
            total1 = acc1.fma(FloatVector.broadcast(F, scale1), total1);
            total1 = qSum.fma(FloatVector.broadcast(F, min1), total1);
            total2 = acc2.fma(FloatVector.broadcast(F, scale2), total2);
            total2 = qSum.fma(FloatVector.broadcast(F, min2), total2);
            total3 = acc3.fma(FloatVector.broadcast(F, scale3), total3);
            total3 = qSum.fma(FloatVector.broadcast(F, min3), total3);
        }
        total0.intoArray(buffer, at);
        total1.intoArray(buffer, at + L);
        total2.intoArray(buffer, at + 2 * L);
        total3.intoArray(buffer, at + 3 * L);
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
                    IntVector packed = (IntVector) ByteVector.fromMemorySegment(B, values, at + t * run.slotBytes(), LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    FloatVector factor = FloatVector.broadcast(F, factors[t * groups + g]);
                    a0 = ((FloatVector) packed.and(CRUMB).convertShape(VectorOperators.I2F, F, 0)).fma(factor, a0);
                    a1 = ((FloatVector) packed.lanewise(VectorOperators.LSHR, 2).and(CRUMB)
                            .convertShape(VectorOperators.I2F, F, 0)).fma(factor, a1);
                    a2 = ((FloatVector) packed.lanewise(VectorOperators.LSHR, 4).and(CRUMB)
                            .convertShape(VectorOperators.I2F, F, 0)).fma(factor, a2);
                    a3 = ((FloatVector) packed.lanewise(VectorOperators.LSHR, 6)
                            .convertShape(VectorOperators.I2F, F, 0)).fma(factor, a3);
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
        return centred ? "Int2Codec (zero-centred)" : "Int2Codec";
    }
}
