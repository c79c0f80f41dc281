package dev.ultrakv.kvcache.codec;

import static dev.ultrakv.kvcache.codec.CodecVectors.B;
import static dev.ultrakv.kvcache.codec.CodecVectors.F;
import static dev.ultrakv.kvcache.codec.CodecVectors.F16_LE;
import static dev.ultrakv.kvcache.codec.CodecVectors.I8;
import static dev.ultrakv.kvcache.codec.CodecVectors.L;
import static dev.ultrakv.kvcache.codec.CodecVectors.LE;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Symmetric 8-bit integers: each {@linkplain ChannelGroups group} of channels stores one float16 scale
 * {@code s = f16(absmax / 127)} and one signed byte per channel, {@code code = clamp(round(x / s), -127, 127)};
 * a value decodes to {@code code · s}.
 *
 * <pre>
 * slot:  scale₀ scale₁ … (float16, little-endian, one per group) | code₀ code₁ … code_{headSize-1} (int8)
 * </pre>
 * At {@code headSize} 64: 66 bytes, 8.25 bits per value.
 *
 * <h2>Notes</h2>
 * <b>Error.</b> With {@code σ} the exact {@code absmax / 127} and {@code s} its float16 rounding, a value
 * within {@code ±127 s} decodes within {@code s / 2}; one beyond it (only when {@code s} rounded down) is
 * clamped, off by at most {@code absmax - 127 s ≤ 127 |s - σ|}. So
 * {@code |x - x̂| ≤ σ/2 + 127 |s - σ|}, and for a normal float16 scale ({@code |s - σ| ≤ 2⁻¹¹ σ}) that is
 * at most {@code absmax · (1/254 + 2⁻¹¹)}. A group of zeros has scale 0 and decodes to zeros exactly.
 *
 * <p><b>Why float16 scales.</b> A float16 scale is within 2⁻¹¹ of the exact one, relatively: its effect on a
 * decoded value (at most {@code 127 · 2⁻¹¹ σ ≈ 0.06 σ}) is small beside the rounding step itself
 * ({@code σ / 2}), and it halves the scale bytes of a float32. Its range bounds what can be stored: the
 * scale must stay at most 65504, so {@code absmax ≤ 127 · 65504 ≈ 8.3e6} (far beyond real keys and values, and
 * refused with the value's channel beyond it); groups of tiny values get subnormal scales (below 6.1e-5, that
 * is absmax below 7.7e-3) whose relative precision drops, but the scale rounding's share of the error stays
 * below {@code 127 · 2⁻²⁵ ≈ 3.8e-6} in absolute terms.
 *
 * <p><b>Attention in registers.</b> Scores sum {@code q_c · code_c} per group in a float vector (codes widened
 * from a byte vector, exact), scale each group's accumulator by its {@code s}, sum the lanes in the fixed tree
 * of {@link CodecVectors} and divide by {@code sqrt(headSize)} as the float path does. Four slots go
 * through the loop together, so that each query vector loaded serves four and their lane sums share shuffles;
 * with one lane sum per slot the scores took 1.8 times as long as float32's, now about as long.
 *
 * <p>Values first compute {@code w_t · s_t} for every slot and group of the run, then, two vectors of channels
 * at a time, keep those vectors of {@code out} in registers while adding {@code (w_t · s_t) · code_t} for every
 * slot in position order (fused multiply-add), and store them once. No float copy of the run is made. Groups
 * that are not whole vectors (every head of 8 channels on AVX-512, for example) take scalar loops of the same
 * structure. Every order depends only on {@code headSize}, {@code count} and the vector length.
 */
final class Int8Codec implements KvCodec {
    static final Int8Codec INSTANCE = new Int8Codec();

    /** Largest code magnitude: -128 is left unused so that the code range, like the value range, is symmetric. */
    static final int MAX_CODE = 127;
    /** Bytes of one group's float16 scale. */
    private static final int SCALE_BYTES = Short.BYTES;

    private Int8Codec() {
    }

    @Override
    public KvCodecKind kind() {
        return KvCodecKind.INT8;
    }

    @Override
    public long slotBytes(int headSize) {
        int groups = headSize / groupSize(headSize);
        return (long) groups * SCALE_BYTES + headSize;
    }

    private static int groupSize(int headSize) {
        return ChannelGroups.groupSize(KvCodecKind.INT8, headSize, 1);
    }

    /** Whether heads of {@code groupSize}-channel groups take the vector kernels. */
    private static boolean vectorised(int groupSize) {
        return CodecVectors.VECTOR_KERNELS && groupSize % L == 0;
    }

    @Override
    public void encode(float[] src, int srcOffset, int headSize, MemorySegment dst, long dstByteOffset) {
        int group = groupSize(headSize);
        int groups = headSize / group;
        Objects.checkFromIndexSize(srcOffset, headSize, src.length);
        Objects.checkFromIndexSize(dstByteOffset, slotBytes(headSize), dst.byteSize());
        SlotValues.checkFinite(KvCodecKind.INT8, src, srcOffset, headSize);
        // All scales are checked before anything is written, so a refused slot is left as it was.
        for (int g = 0; g < groups; g++) {
            scaleBits(src, srcOffset, g * group, group);
        }
        long codes = dstByteOffset + (long) groups * SCALE_BYTES;
        for (int g = 0; g < groups; g++) {
            short bits = scaleBits(src, srcOffset, g * group, group);
            dst.set(F16_LE, dstByteOffset + (long) g * SCALE_BYTES, bits);
            float scale = Float.float16ToFloat(bits);
            for (int c = g * group; c < (g + 1) * group; c++) {
                dst.set(I8, codes + c, (byte) code(src[srcOffset + c], scale));
            }
        }
    }

    /** The float16 scale of the group of channels {@code [from, from + group)}: {@code f16(absmax / 127)}. */
    private static short scaleBits(float[] src, int srcOffset, int from, int group) {
        return SlotValues.symmetricScale(KvCodecKind.INT8, src, srcOffset, from, group, MAX_CODE);
    }

    /**
     * {@code clamp(round(x / scale), -127, 127)}, rounding to the nearest with ties to even (no bias), and 0 for a
     * zero scale (a group of zeros, or one whose scale underflowed).
     */
    static int code(float x, float scale) {
        if (scale == 0f) {
            return 0;
        }
        return (int) Math.clamp(Math.rint(x / scale), -MAX_CODE, MAX_CODE);
    }

    @Override
    public void decode(MemorySegment src, long srcByteOffset, int headSize, float[] dst, int dstOffset) {
        int group = groupSize(headSize);
        int groups = headSize / group;
        Objects.checkFromIndexSize(dstOffset, headSize, dst.length);
        Objects.checkFromIndexSize(srcByteOffset, slotBytes(headSize), src.byteSize());
        long codes = srcByteOffset + (long) groups * SCALE_BYTES;
        for (int g = 0; g < groups; g++) {
            float scale = scale(src, srcByteOffset, g);
            for (int c = g * group; c < (g + 1) * group; c++) {
                dst[dstOffset + c] = src.get(I8, codes + c) * scale;
            }
        }
    }

    private static float scale(MemorySegment segment, long slot, int group) {
        return Float.float16ToFloat(segment.get(F16_LE, slot + (long) group * SCALE_BYTES));
    }

    @Override
    public void attentionScores(float[] q, int qOffset, int headSize, MemorySegment keys, long runByteOffset,
                                int count, float[] scores, int scoresOffset) {
        int group = groupSize(headSize);
        long slotBytes = slotBytes(headSize);
        RunBounds.check(keys, runByteOffset, count, slotBytes);
        Objects.checkFromIndexSize(qOffset, headSize, q.length);
        Objects.checkFromIndexSize(scoresOffset, count, scores.length);
        float root = (float) Math.sqrt(headSize);
        if (vectorised(group)) {
            scoresVector(q, qOffset, headSize, group, keys, runByteOffset, slotBytes, count, scores, scoresOffset,
                    root);
        } else {
            scoresScalar(q, qOffset, headSize, group, keys, runByteOffset, slotBytes, count, scores, scoresOffset,
                    root);
        }
    }

    /**
     * Four slots at a time: each vector of the query is loaded once for the four, and their lane sums are
     * finished together (see {@link CodecVectors}). A last group of fewer than four slots repeats its last slot in
     * the missing places and stores only its own scores; each slot's score has the same bits either way. The
     * vector code is written out in full, not in helper methods (see {@link CodecVectors}).
     */
    private static void scoresVector(float[] q, int qOffset, int headSize, int group, MemorySegment keys, long run,
                                     long slotBytes, int count, float[] scores, int scoresOffset, float root) {
        int groups = headSize / group;
        long header = (long) groups * SCALE_BYTES;
        FloatVector roots = FloatVector.broadcast(F, root);
        FloatVector zero = FloatVector.zero(F);
        for (int t = 0; t < count; t += CodecVectors.SLOTS_PER_SUM) {
            int left = count - t;
            long s0 = run + t * slotBytes;
            long s1 = left > 1 ? s0 + slotBytes : s0;
            long s2 = left > 2 ? s0 + 2 * slotBytes : s1;
            long s3 = left > 3 ? s0 + 3 * slotBytes : s2;
            FloatVector total0 = zero;
            FloatVector total1 = zero;
            FloatVector total2 = zero;
            FloatVector total3 = zero;
            for (int g = 0; g < groups; g++) {
                FloatVector acc0 = zero;
                FloatVector acc1 = zero;
                FloatVector acc2 = zero;
                FloatVector acc3 = zero;
                for (int c = g * group; c < (g + 1) * group; c += L) {
                    FloatVector qv = FloatVector.fromArray(F, q, qOffset + c);
                    acc0 = ((FloatVector) ByteVector.fromMemorySegment(B, keys, s0 + header + c, LE)
                            .convertShape(VectorOperators.B2F, F, 0)).fma(qv, acc0);
                    acc1 = ((FloatVector) ByteVector.fromMemorySegment(B, keys, s1 + header + c, LE)
                            .convertShape(VectorOperators.B2F, F, 0)).fma(qv, acc1);
                    acc2 = ((FloatVector) ByteVector.fromMemorySegment(B, keys, s2 + header + c, LE)
                            .convertShape(VectorOperators.B2F, F, 0)).fma(qv, acc2);
                    acc3 = ((FloatVector) ByteVector.fromMemorySegment(B, keys, s3 + header + c, LE)
                            .convertShape(VectorOperators.B2F, F, 0)).fma(qv, acc3);
                }
                // The scales read in place: a call C2 leaves out of line here costs more than the read.
                long h = (long) g * SCALE_BYTES;
                total0 = acc0.fma(FloatVector.broadcast(F, Float.float16ToFloat(keys.get(F16_LE, s0 + h))), total0);
                total1 = acc1.fma(FloatVector.broadcast(F, Float.float16ToFloat(keys.get(F16_LE, s1 + h))), total1);
                total2 = acc2.fma(FloatVector.broadcast(F, Float.float16ToFloat(keys.get(F16_LE, s2 + h))), total2);
                total3 = acc3.fma(FloatVector.broadcast(F, Float.float16ToFloat(keys.get(F16_LE, s3 + h))), total3);
            }
            FloatVector pair01 = total0.add(total0.rearrange(CodecVectors.FOLD_HALF))
                    .blend(total1.add(total1.rearrange(CodecVectors.FOLD_HALF)), CodecVectors.HALF_BIT);
            FloatVector pair23 = total2.add(total2.rearrange(CodecVectors.FOLD_HALF))
                    .blend(total3.add(total3.rearrange(CodecVectors.FOLD_HALF)), CodecVectors.HALF_BIT);
            FloatVector sums = pair01.add(pair01.rearrange(CodecVectors.FOLD_QUARTER))
                    .blend(pair23.add(pair23.rearrange(CodecVectors.UNFOLD_QUARTER)), CodecVectors.QUARTER_BIT);
            if (L >= 8) {
                sums = sums.add(sums.rearrange(CodecVectors.FOLD_EIGHTH));
            }
            if (L >= 16) {
                sums = sums.add(sums.rearrange(CodecVectors.FOLD_SIXTEENTH));
            }
            sums.rearrange(CodecVectors.FOUR_SUMS).div(roots).intoArray(scores, scoresOffset + t,
                    F.indexInRange(0, Math.min(left, CodecVectors.SLOTS_PER_SUM)));
        }
    }

    private static void scoresScalar(float[] q, int qOffset, int headSize, int group, MemorySegment keys, long run,
                                     long slotBytes, int count, float[] scores, int scoresOffset, float root) {
        int groups = headSize / group;
        long header = (long) groups * SCALE_BYTES;
        for (int t = 0; t < count; t++) {
            long slot = run + t * slotBytes;
            long codes = slot + header;
            float total = 0f;
            for (int g = 0; g < groups; g++) {
                float dot = 0f;
                for (int c = g * group; c < (g + 1) * group; c++) {
                    dot += q[qOffset + c] * keys.get(I8, codes + c);
                }
                total += dot * scale(keys, slot, g);
            }
            scores[scoresOffset + t] = total / root;
        }
    }

    @Override
    public void attentionValues(float[] weights, int weightsOffset, MemorySegment values, long runByteOffset,
                                int count, int headSize, float[] out, int outOffset) {
        int group = groupSize(headSize);
        int groups = headSize / group;
        long slotBytes = slotBytes(headSize);
        RunBounds.check(values, runByteOffset, count, slotBytes);
        Objects.checkFromIndexSize(weightsOffset, count, weights.length);
        Objects.checkFromIndexSize(outOffset, headSize, out.length);
        // factors[t * groups + g] = w_t · s_tg: one float16 conversion per slot and group, not per vector.
        float[] factors = RunScratch.floats(count * groups);
        for (int t = 0; t < count; t++) {
            long slot = runByteOffset + t * slotBytes;
            for (int g = 0; g < groups; g++) {
                factors[t * groups + g] = weights[weightsOffset + t] * scale(values, slot, g);
            }
        }
        long codes = runByteOffset + (long) groups * SCALE_BYTES;
        if (vectorised(group)) {
            int c = 0;
            // Two vectors of channels at a time: two independent chains of fused multiply-adds.
            for (; c + 2 * L <= headSize; c += 2 * L) {
                int g0 = c / group;
                int g1 = (c + L) / group;
                FloatVector acc0 = FloatVector.fromArray(F, out, outOffset + c);
                FloatVector acc1 = FloatVector.fromArray(F, out, outOffset + c + L);
                for (int t = 0; t < count; t++) {
                    long at = codes + t * slotBytes + c;
                    acc0 = ((FloatVector) ByteVector.fromMemorySegment(B, values, at, LE)
                            .convertShape(VectorOperators.B2F, F, 0))
                            .fma(FloatVector.broadcast(F, factors[t * groups + g0]), acc0);
                    acc1 = ((FloatVector) ByteVector.fromMemorySegment(B, values, at + L, LE)
                            .convertShape(VectorOperators.B2F, F, 0))
                            .fma(FloatVector.broadcast(F, factors[t * groups + g1]), acc1);
                }
                acc0.intoArray(out, outOffset + c);
                acc1.intoArray(out, outOffset + c + L);
            }
            for (; c < headSize; c += L) {
                int g = c / group;
                FloatVector acc = FloatVector.fromArray(F, out, outOffset + c);
                for (int t = 0; t < count; t++) {
                    acc = ((FloatVector) ByteVector.fromMemorySegment(B, values, codes + t * slotBytes + c, LE)
                            .convertShape(VectorOperators.B2F, F, 0))
                            .fma(FloatVector.broadcast(F, factors[t * groups + g]), acc);
                }
                acc.intoArray(out, outOffset + c);
            }
        } else {
            for (int t = 0; t < count; t++) {
                long slotCodes = codes + t * slotBytes;
                for (int c = 0; c < headSize; c++) {
                    out[outOffset + c] += factors[t * groups + c / group] * values.get(I8, slotCodes + c);
                }
            }
        }
    }

    @Override
    public String toString() {
        return "Int8Codec";
    }
}
