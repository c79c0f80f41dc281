package dev.ultrakv.kvcache.codec;

import dev.ultrakv.tensor.Kernels;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/**
 * IEEE float16 per value: {@code headSize} little-endian halves per slot, 2 bytes each. Values are rounded to
 * the nearest half (ties to even), a relative error of at most 2<sup>-11</sup> for normal halves; magnitudes
 * that would round past 65504, the largest half, are refused.
 *
 * <h2>Notes</h2>
 * <b>Attention converts a run, then runs the float kernels.</b> JDK 25's Vector API has no float16 lanes. A plain
 * loop over {@link Float#float16ToFloat} is vectorised by C2 with the CPU's conversion instruction (F16C
 * {@code vcvtph2ps}, 16 values in about 2 cycles), so each call converts its run (at most a block: 16 slots of
 * 64 channels are 4 KiB, in L1) into a per-thread buffer and hands it to the on-heap
 * {@link Kernels#attentionScores(float[], int, float[], int, int, int, int, float[], int)} and
 * {@link Kernels#attentionValues(float[], int, float[], int, int, int, int, float[], int)}. Converting whole runs
 * rather than slot by slot keeps the kernels' loads far behind the conversion's stores (no store-forwarding
 * stalls). Converting the bits with integer vector operations in registers, as {@code Kernels.dotF16} does, was
 * measured slower here (see {@code KvAttentionBenchmark}). The scores and the value sum are then exactly those of
 * a float32 cache holding the decoded values.
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
        Kernels.attentionScores(q, qOffset, run, 0, headSize, headSize, count, scores, scoresOffset);
    }

    @Override
    public void attentionValues(float[] weights, int weightsOffset, MemorySegment values, long runByteOffset,
                                int count, int headSize, float[] out, int outOffset) {
        checkHeadSize(headSize);
        int n = checkRun(values, runByteOffset, count, headSize);
        float[] run = RunScratch.floats(n);
        toFloats(values, runByteOffset, n, run, 0);
        Kernels.attentionValues(weights, weightsOffset, run, 0, headSize, headSize, count, out, outOffset);
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
