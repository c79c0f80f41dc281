package dev.ultrakv.kvcache.codec;

import static dev.ultrakv.kvcache.codec.CodecVectors.F;
import static dev.ultrakv.kvcache.codec.CodecVectors.L;

import dev.ultrakv.tensor.Attention;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

import jdk.incubator.vector.FloatVector;

/**
 * IEEE float16 per value: {@code headSize} little-endian halves per slot, 2 bytes each. Values are rounded to
 * the nearest half (ties to even), a relative error of at most 2<sup>-11</sup> for normal halves; magnitudes
 * that would round past 65504, the largest half, are refused.
 *
 * <h2>Notes</h2>
 * <b>Attention converts a run, then computes in float.</b> JDK 25's Vector API has no float16 lanes. A plain
 * loop over {@link Float#float16ToFloat} is vectorised by C2 with the CPU's conversion instruction (F16C
 * {@code vcvtph2ps}, 16 values in about 2 cycles), so each call converts its run (at most a block: 16 slots of
 * 64 channels are 4 KiB, in L1) into a per-thread buffer. Converting whole runs rather than slot by slot keeps
 * the loads far behind the conversion's stores (no store-forwarding stalls). Converting the bits with integer
 * vector operations in registers, as {@code WeightKernels.dotF16} does, measured 11.6 against 7.7 ns per slot for the
 * scores at headSize 64 (2048 positions, AVX-512, best of 30 rounds).
 *
 * <p>The scores are then {@link Attention#attentionScores(float[], int, float[], int, int, int, int, float[], int)}
 * over the buffer; the value sum keeps each vector of the output in a register across the run instead of
 * reading and writing it once per slot as
 * {@link Attention#attentionValues(float[], int, float[], int, int, int, int, float[], int)} does, with the same
 * arithmetic (each product rounded, then added, in position order). Both give exactly what a float32 cache
 * holding the decoded values gives.
 */
final class Float16Codec implements KvCodec {
    static final Float16Codec INSTANCE = new Float16Codec();

    /** Bit pattern of a half's exponent field; all ones means infinity or NaN. */
    private static final int EXPONENT_BITS = 0x7c00;

    private Float16Codec() {
    }

    @Override
    public KvCodecKind kind() {
        return KvCodecKind.F16;
    }

    @Override
    public long slotBytes(int headSize) {
        checkHeadSize(headSize);
        return (long) headSize * Short.BYTES;
    }

    @Override
    public void encode(float[] src, int srcOffset, int headSize, MemorySegment dst, long dstByteOffset) {
        checkHeadSize(headSize);
        Objects.checkFromIndexSize(srcOffset, headSize, src.length);
        Objects.checkFromIndexSize(dstByteOffset, slotBytes(headSize), dst.byteSize());
        SlotValues.checkFinite(KvCodecKind.F16, src, srcOffset, headSize);
        // Every value is checked before anything is written, so a refused slot is left as it was.
        for (int c = 0; c < headSize; c++) {
            if ((Float.floatToFloat16(src[srcOffset + c]) & EXPONENT_BITS) == EXPONENT_BITS) {
                throw SlotValues.unstorable(KvCodecKind.F16, src[srcOffset + c], c,
                        "it rounds past 65504, the largest float16");
            }
        }
        for (int c = 0; c < headSize; c++) {
            dst.set(CodecVectors.F16_LE, dstByteOffset + (long) c * Short.BYTES,
                    Float.floatToFloat16(src[srcOffset + c]));
        }
    }

    @Override
    public void decode(MemorySegment src, long srcByteOffset, int headSize, float[] dst, int dstOffset) {
        checkHeadSize(headSize);
        Objects.checkFromIndexSize(dstOffset, headSize, dst.length);
        toFloats(src, srcByteOffset, headSize, dst, dstOffset);
    }

    @Override
    public void attentionScores(float[] q, int qOffset, int headSize, MemorySegment keys, long runByteOffset,
                                int count, float[] scores, int scoresOffset) {
        checkHeadSize(headSize);
        int n = checkRun(keys, runByteOffset, count, headSize);
        float[] run = RunScratch.floats(n);
        toFloats(keys, runByteOffset, n, run, 0);
        Attention.attentionScores(q, qOffset, run, 0, headSize, headSize, count, scores, scoresOffset);
    }

    @Override
    public void attentionValues(float[] weights, int weightsOffset, MemorySegment values, long runByteOffset,
                                int count, int headSize, float[] out, int outOffset) {
        checkHeadSize(headSize);
        int n = checkRun(values, runByteOffset, count, headSize);
        Objects.checkFromIndexSize(weightsOffset, count, weights.length);
        Objects.checkFromIndexSize(outOffset, headSize, out.length);
        float[] run = RunScratch.floats(n);
        toFloats(values, runByteOffset, n, run, 0);
        // Each vector of out stays in a register across the run; each product is rounded before it is added, in
        // position order: the arithmetic of Attention.attentionValues, element for element.
        int c = 0;
        for (int bound = F.loopBound(headSize); c < bound; c += L) {
            FloatVector acc = FloatVector.fromArray(F, out, outOffset + c);
            for (int t = 0; t < count; t++) {
                acc = FloatVector.fromArray(F, run, t * headSize + c).mul(weights[weightsOffset + t]).add(acc);
            }
            acc.intoArray(out, outOffset + c);
        }
        for (; c < headSize; c++) {
            float acc = out[outOffset + c];
            for (int t = 0; t < count; t++) {
                acc += weights[weightsOffset + t] * run[t * headSize + c];
            }
            out[outOffset + c] = acc;
        }
    }

    /** Converts {@code n} halves at {@code byteOffset}: a loop C2 vectorises with F16C (see the class notes). */
    private static void toFloats(MemorySegment src, long byteOffset, int n, float[] dst, int dstOffset) {
        for (int i = 0; i < n; i++) {
            dst[dstOffset + i] = Float.float16ToFloat(src.get(CodecVectors.F16_LE, byteOffset + 2L * i));
        }
    }

    /** Checks that the run lies inside {@code segment}; returns its value count. */
    private static int checkRun(MemorySegment segment, long runByteOffset, int count, int headSize) {
        RunBounds.check(segment, runByteOffset, count, (long) headSize * Short.BYTES);
        return Math.multiplyExact(count, headSize);
    }

    private static void checkHeadSize(int headSize) {
        if (headSize <= 0) {
            throw new IllegalArgumentException("F16 needs a positive headSize: " + headSize);
        }
    }

    @Override
    public String toString() {
        return "Float16Codec";
    }
}
