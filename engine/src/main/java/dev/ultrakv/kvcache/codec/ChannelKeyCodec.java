package dev.ultrakv.kvcache.codec;

import static dev.ultrakv.kvcache.codec.CodecVectors.B;
import static dev.ultrakv.kvcache.codec.CodecVectors.F;
import static dev.ultrakv.kvcache.codec.CodecVectors.F16_LE;
import static dev.ultrakv.kvcache.codec.CodecVectors.I;
import static dev.ultrakv.kvcache.codec.CodecVectors.I8;
import static dev.ultrakv.kvcache.codec.CodecVectors.L;
import static dev.ultrakv.kvcache.codec.CodecVectors.LE;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;

/**
 * Keys quantized per <em>channel</em> over a run of positions (KIVI), with llama.cpp's k-quant idea for the
 * scales: one (block, layer, KV head) run of {@code positions} keys of {@code headSize} channels is encoded at
 * once, each channel {@code c} with its own minimum {@code m_c} and step {@code s_c}, both stored as 6-bit
 * indices under float16 fields shared by the run. A key decodes to {@code x̂ = m_c + code · s_c}, codes
 * {@code 0 .. 2^b - 1} for {@code b} = 4 (INT4) or 2 (INT2).
 *
 * <pre>
 * run:      step f16 | minBase f16 | minStep f16 | scale indices | minimum indices | position 0's codes | …
 * indices:  6 bits per channel: the low 4 as nibbles (H/2 bytes: byte i holds channels i, i + H/2), then the
 *           high 2 as crumbs (H/4 bytes: byte i holds channels i, i + H/4, i + H/2, i + 3H/4 in bits 0-1 … 6-7)
 *           m_c = minBase + minIndex_c · minStep        s_c = scaleIndex_c · step
 * codes:    headSize · b / 8 bytes per position; bits [k·b, (k+1)·b) of byte i hold channel i + k·P,
 *           P = headSize · b / 8 (the packing of {@link AsymmetricIntCodec}, one group per head)
 * </pre>
 * At {@code headSize} 64 and 16 positions: 614 bytes per run for INT4 (4.80 bits per value), 358 for INT2
 * (2.80); at {@code headSize} 8: 82 bytes (5.13) and 50 (3.13).
 *
 * <h2>Notes</h2>
 * <b>Why per channel.</b> A few key channels carry most of a key's magnitude, at every position (measured on
 * stories260K: int4 keys per token raise perplexity from 5.13 to 6.68, int4 values only to 5.16). A per-token
 * scale is set by those outliers and leaves a handful of codes for every other channel; a per-channel scale
 * follows each channel's own range over the run.
 *
 * <p><b>Why 6-bit indices under float16 fields.</b> A float16 minimum and scale per channel per 16 positions cost
 * 2 bits per value, over the byte budget. Twelve bits per channel cost 0.75 at 16 positions. The indices are
 * linear: the minimum index is {@code floor((min_c - minBase) / minStep)}, so {@code m_c ≤ min_c} and
 * {@code min_c - m_c < minStep}; the scale index is the smallest that reaches the channel's maximum,
 * {@code ceil((max_c - m_c) / (levels · step))}. So {@code s_c < (max_c - m_c) / levels + step}: a channel's
 * step exceeds its own exact step by at most 1/63 of the widest channel's, and a value decodes within
 * {@code s_c / 2} of itself, that is within
 * {@code ((range_c + minStep) / levels + step) / 2} with {@code minStep ≤ spread of the minima / 63} and
 * {@code step ≤ (widest range + minStep) / (63 · levels)}, each rounded up to a float16. The float16 fields are
 * rounded outwards (base down, steps up) so that the indices always fit in 6 bits.
 *
 * <p><b>Attention.</b> {@code q·k̂_t = Σ_c (q_c s_c) code_tc + Σ_c q_c m_c}: per run the query is scaled once
 * ({@code q'_c = q_c s_c}) and the bias {@code Σ_c q_c m_c} computed once, then each position costs one dot
 * product of {@code q'} with its codes, divided by {@code sqrt(headSize)} as the float path does. The vector
 * kernel unpacks the indices of {@code L} consecutive channels at a time (hence nibbles and crumbs, llama.cpp's
 * Q6_K split, rather than 12 bits per channel in a row: decoding those one channel at a time took most of the
 * time, 2.7 times the per-slot INT4 scores), then widens each byte vector of codes to int lanes (x86 has no byte
 * shift), splits it into the {@code 8 / b} vectors of consecutive channels it holds, and sums the products lane
 * by lane, four positions at a time; their lanes are summed together in the fixed tree of {@link CodecVectors},
 * the bias's lanes in lane order. Heads whose crumb bytes are not whole vectors (8, 16 or 96 channels on
 * AVX-512) take a scalar loop. Every order depends only on {@code headSize}, the position count and the vector
 * length.
 *
 * <p><b>Non-finite keys</b> are refused with the channel and position named; so are runs whose fields overflow
 * float16 (minima beyond ±65504, steps beyond 65504).
 */
public final class ChannelKeyCodec {
    /** Bits of a channel's scale index and of its minimum index. */
    static final int INDEX_BITS = 6;
    /** Largest index, {@code 2^6 - 1}. */
    static final int MAX_INDEX = (1 << INDEX_BITS) - 1;
    /** Bits of an index kept in the nibble array; the rest, {@link #HIGH_BITS}, in the crumb array. */
    private static final int LOW_BITS = 4;
    private static final int LOW_MASK = (1 << LOW_BITS) - 1;
    private static final int HIGH_BITS = INDEX_BITS - LOW_BITS;
    private static final int HIGH_MASK = (1 << HIGH_BITS) - 1;
    /** Channels whose index bits share one byte of the nibble array (2) and of the crumb array (4). */
    private static final int NIBBLES_PER_BYTE = Byte.SIZE / LOW_BITS;
    private static final int CRUMBS_PER_BYTE = Byte.SIZE / HIGH_BITS;
    /** Bytes of the run header: step, minimum base and minimum step, float16 each. */
    static final int HEADER_BYTES = 3 * Short.BYTES;
    private static final int MIN_BASE_OFFSET = Short.BYTES;
    private static final int MIN_STEP_OFFSET = 2 * Short.BYTES;

    static final ChannelKeyCodec INT4 = new ChannelKeyCodec(KvCodecKind.INT4);
    static final ChannelKeyCodec INT2 = new ChannelKeyCodec(KvCodecKind.INT2);

    private final KvCodecKind kind;
    private final int bits;
    /** Largest code, {@code 2^bits - 1}: also the mask of one code. */
    private final int levels;
    private final int codesPerByte;

    private ChannelKeyCodec(KvCodecKind kind) {
        this.kind = kind;
        this.bits = kind.bits();
        this.levels = (1 << bits) - 1;
        this.codesPerByte = Byte.SIZE / bits;
    }

    /** The cache kind whose keys this codec stores. */
    public KvCodecKind kind() {
        return kind;
    }

    /**
     * Bytes of one run of {@code positions} keys of {@code headSize} channels.
     *
     * @throws IllegalArgumentException unless {@code headSize} is a positive multiple of 4 (crumbs per byte) and
     *                                  {@code positions} is positive
     */
    public long runBytes(int headSize, int positions) {
        check(headSize, positions);
        return HEADER_BYTES + indexBytes(headSize) + (long) positions * codeBytes(headSize);
    }

    /** Bits per value at this geometry, headers included. */
    public double bitsPerValue(int headSize, int positions) {
        return (double) Byte.SIZE * runBytes(headSize, positions) / ((long) headSize * positions);
    }

    private void check(int headSize, int positions) {
        if (headSize <= 0 || headSize % CRUMBS_PER_BYTE != 0 || positions <= 0) {
            throw new IllegalArgumentException(kind + " per-channel keys need a positive headSize that is a multiple "
                    + "of " + CRUMBS_PER_BYTE + " and positive positions: headSize " + headSize + ", positions "
                    + positions);
        }
    }

    /** Bytes of one array of 6-bit indices: its nibbles, then its crumbs. */
    private static int indexArrayBytes(int headSize) {
        return headSize / NIBBLES_PER_BYTE + headSize / CRUMBS_PER_BYTE;
    }

    /** Bytes of both index arrays, scales then minima. */
    private static int indexBytes(int headSize) {
        return 2 * indexArrayBytes(headSize);
    }

    private int codeBytes(int headSize) {
        return headSize / codesPerByte;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Encoding
    // ---------------------------------------------------------------------------------------------------------

    /**
     * Encodes {@code positions} keys, key {@code t} at {@code src[srcOffset + t·stride, + headSize)}, into the run
     * at {@code dstByteOffset}. Nothing is written when a key is refused.
     *
     * @throws IllegalArgumentException if a value is NaN or infinite, or the run's fields overflow float16; the
     *                                  message names the channel and the position within the run
     */
    public void encode(float[] src, int srcOffset, int stride, int headSize, int positions, MemorySegment dst,
                       long dstByteOffset) {
        long bytes = runBytes(headSize, positions);
        Objects.checkFromIndexSize(srcOffset, (positions - 1) * stride + headSize, src.length);
        Objects.checkFromIndexSize(dstByteOffset, bytes, dst.byteSize());
        float[] lo = new float[headSize];
        float[] hi = new float[headSize];
        for (int c = 0; c < headSize; c++) {
            lo[c] = Float.POSITIVE_INFINITY;
            hi[c] = Float.NEGATIVE_INFINITY;
        }
        for (int t = 0; t < positions; t++) {
            for (int c = 0; c < headSize; c++) {
                float x = src[srcOffset + t * stride + c];
                if (!Float.isFinite(x)) {
                    throw unstorable(x, c, t, "only finite values can be stored");
                }
                lo[c] = Math.min(lo[c], x);
                hi[c] = Math.max(hi[c], x);
            }
        }
        float lowest = lo[0];
        float highest = lo[0];
        int lowestChannel = 0;
        for (int c = 1; c < headSize; c++) {
            if (lo[c] < lowest) {
                lowest = lo[c];
                lowestChannel = c;
            }
            highest = Math.max(highest, lo[c]);
        }
        short baseBits = float16AtMost(lowest);
        float base = Float.float16ToFloat(baseBits);
        if (Float.isInfinite(base)) {
            throw unstorable(lowest, lowestChannel, -1, "it is the run's lowest channel minimum, which must be a "
                    + "float16 (within ±65504)");
        }
        short minStepBits = float16AtLeast((highest - base) / MAX_INDEX);
        float minStep = Float.float16ToFloat(minStepBits);
        int[] minIndex = new int[headSize];
        float[] mins = new float[headSize];
        float widest = 0f;
        int widestChannel = 0;
        for (int c = 0; c < headSize; c++) {
            int index = minStep == 0f ? 0 : (int) Math.clamp(Math.floor((lo[c] - base) / minStep), 0, MAX_INDEX);
            while (index > 0 && base + index * minStep > lo[c]) {
                index--;
            }
            minIndex[c] = index;
            mins[c] = base + index * minStep;
            if (hi[c] - mins[c] > widest) {
                widest = hi[c] - mins[c];
                widestChannel = c;
            }
        }
        short stepBits = float16AtLeast(widest / levels / MAX_INDEX);
        float step = Float.float16ToFloat(stepBits);
        if (Float.isInfinite(step) || Float.isInfinite(minStep)) {
            throw unstorable(hi[widestChannel], widestChannel, -1, "the run's channels span " + widest
                    + ", whose steps overflow float16 (largest 65504)");
        }
        int[] scaleIndex = new int[headSize];
        float[] scales = new float[headSize];
        for (int c = 0; c < headSize; c++) {
            int index = step == 0f ? 0 : (int) Math.clamp(Math.ceil((hi[c] - mins[c]) / levels / step), 0, MAX_INDEX);
            while (index < MAX_INDEX && mins[c] + levels * (index * step) < hi[c]) {
                index++;
            }
            scaleIndex[c] = index;
            scales[c] = index * step;
        }
        dst.set(F16_LE, dstByteOffset, stepBits);
        dst.set(F16_LE, dstByteOffset + MIN_BASE_OFFSET, baseBits);
        dst.set(F16_LE, dstByteOffset + MIN_STEP_OFFSET, minStepBits);
        long indices = dstByteOffset + HEADER_BYTES;
        writeIndices(scaleIndex, headSize, dst, indices);
        writeIndices(minIndex, headSize, dst, indices + indexArrayBytes(headSize));
        int part = codeBytes(headSize);
        long codes = indices + indexBytes(headSize);
        for (int t = 0; t < positions; t++) {
            int from = srcOffset + t * stride;
            for (int i = 0; i < part; i++) {
                int packed = 0;
                for (int k = 0; k < codesPerByte; k++) {
                    int c = k * part + i;
                    packed |= code(src[from + c], mins[c], scales[c]) << (k * bits);
                }
                dst.set(I8, codes + (long) t * part + i, (byte) packed);
            }
        }
    }

    /**
     * Writes 6-bit indices at {@code at}: their low 4 bits as nibbles (byte {@code i} holds channels {@code i} and
     * {@code i + H/2}), then their high 2 bits as crumbs (byte {@code i} holds channels {@code i + k·H/4}, bits
     * {@code 2k}), the packing of the codes, so that a vector of bytes unpacks to consecutive channels.
     */
    private static void writeIndices(int[] index, int headSize, MemorySegment dst, long at) {
        int nibbles = headSize / NIBBLES_PER_BYTE;
        int crumbs = headSize / CRUMBS_PER_BYTE;
        for (int i = 0; i < nibbles; i++) {
            dst.set(I8, at + i, (byte) ((index[i] & LOW_MASK) | (index[i + nibbles] & LOW_MASK) << LOW_BITS));
        }
        for (int i = 0; i < crumbs; i++) {
            int packed = 0;
            for (int k = 0; k < CRUMBS_PER_BYTE; k++) {
                packed |= (index[i + k * crumbs] >>> LOW_BITS) << (k * HIGH_BITS);
            }
            dst.set(I8, at + nibbles + i, (byte) packed);
        }
    }

    /** Reads the 6-bit index of channel {@code c} from the array at {@code at} (see {@link #writeIndices}). */
    private static int readIndex(MemorySegment src, long at, int headSize, int c) {
        int nibbles = headSize / NIBBLES_PER_BYTE;
        int crumbs = headSize / CRUMBS_PER_BYTE;
        int low = (src.get(I8, at + c % nibbles) >>> (c / nibbles * LOW_BITS)) & LOW_MASK;
        int high = (src.get(I8, at + nibbles + c % crumbs) >>> (c / crumbs * HIGH_BITS)) & HIGH_MASK;
        return low | high << LOW_BITS;
    }

    /** {@code clamp(round((x - m) / s), 0, levels)}, ties to even; 0 for a zero step (a constant channel). */
    private int code(float x, float min, float scale) {
        if (scale == 0f) {
            return 0;
        }
        return (int) Math.clamp(Math.rint((x - min) / scale), 0, levels);
    }

    /** The float16 nearest {@code x} that is not above it. */
    static short float16AtMost(float x) {
        short bits = Float.floatToFloat16(x);
        if (Float.float16ToFloat(bits) > x) {
            bits = (short) (bits == 0 ? 0x8001 : bits > 0 ? bits - 1 : bits + 1);
        }
        return bits;
    }

    /** The float16 nearest {@code x ≥ 0} that is not below it. */
    static short float16AtLeast(float x) {
        short bits = Float.floatToFloat16(x);
        if (Float.float16ToFloat(bits) < x) {
            bits = (short) (bits + 1);
        }
        return bits;
    }

    private IllegalArgumentException unstorable(float value, int channel, int position, String why) {
        return new IllegalArgumentException(kind + " per-channel keys cannot store " + value + " at channel "
                + channel + (position >= 0 ? ", position " + position + " of the run" : "") + ": " + why);
    }

    // ---------------------------------------------------------------------------------------------------------
    // Decoding
    // ---------------------------------------------------------------------------------------------------------

    /**
     * Decodes the run at {@code srcByteOffset} into {@code dst}: key {@code t} at
     * {@code dst[dstOffset + t·stride, + headSize)}.
     */
    public void decode(MemorySegment src, long srcByteOffset, int headSize, int positions, float[] dst,
                       int dstOffset, int stride) {
        Objects.checkFromIndexSize(srcByteOffset, runBytes(headSize, positions), src.byteSize());
        Objects.checkFromIndexSize(dstOffset, (positions - 1) * stride + headSize, dst.length);
        float[] fields = new float[2 * headSize];
        channelFields(src, srcByteOffset, headSize, fields, 0, headSize);
        int part = codeBytes(headSize);
        long codes = srcByteOffset + HEADER_BYTES + indexBytes(headSize);
        for (int t = 0; t < positions; t++) {
            for (int k = 0; k < codesPerByte; k++) {
                for (int i = 0; i < part; i++) {
                    int c = k * part + i;
                    int code = (src.get(I8, codes + (long) t * part + i) >>> (k * bits)) & levels;
                    dst[dstOffset + t * stride + c] = fields[c] + code * fields[headSize + c];
                }
            }
        }
    }

    /**
     * Each channel's minimum {@code m_c} and step {@code s_c}, from the run's header and indices, into
     * {@code fields[minsAt + c]} and {@code fields[scalesAt + c]}.
     */
    private static void channelFields(MemorySegment run, long runByteOffset, int headSize, float[] fields,
                                      int minsAt, int scalesAt) {
        float step = Float.float16ToFloat(run.get(F16_LE, runByteOffset));
        float base = Float.float16ToFloat(run.get(F16_LE, runByteOffset + MIN_BASE_OFFSET));
        float minStep = Float.float16ToFloat(run.get(F16_LE, runByteOffset + MIN_STEP_OFFSET));
        long scaleIndices = runByteOffset + HEADER_BYTES;
        long minIndices = scaleIndices + indexArrayBytes(headSize);
        for (int c = 0; c < headSize; c++) {
            fields[scalesAt + c] = readIndex(run, scaleIndices, headSize, c) * step;
            fields[minsAt + c] = base + readIndex(run, minIndices, headSize, c) * minStep;
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Attention
    // ---------------------------------------------------------------------------------------------------------

    /**
     * Scaled attention scores of one query head against the first {@code count} keys of the run of
     * {@code positions} at {@code runByteOffset}: {@code scores[scoresOffset + t] = q·k̂_t / sqrt(headSize)}.
     */
    public void attentionScores(float[] q, int qOffset, int headSize, MemorySegment keys, long runByteOffset,
                                int positions, int count, float[] scores, int scoresOffset) {
        Objects.checkFromIndexSize(runByteOffset, runBytes(headSize, positions), keys.byteSize());
        Objects.checkFromIndexSize(qOffset, headSize, q.length);
        Objects.checkIndex(count, positions + 1);
        Objects.checkFromIndexSize(scoresOffset, count, scores.length);
        float root = (float) Math.sqrt(headSize);
        int part = codeBytes(headSize);
        long codes = runByteOffset + HEADER_BYTES + indexBytes(headSize);
        int crumbs = headSize / CRUMBS_PER_BYTE;
        // buffer: [0, H) the query scaled per channel q'; then the minima and steps (scalar) or the bias lanes.
        float[] buffer = RunScratch.floats(Math.max(3 * headSize, headSize + L));
        if (CodecVectors.VECTOR_KERNELS && crumbs % L == 0) {
            float step = Float.float16ToFloat(keys.get(F16_LE, runByteOffset));
            float base = Float.float16ToFloat(keys.get(F16_LE, runByteOffset + MIN_BASE_OFFSET));
            float minStep = Float.float16ToFloat(keys.get(F16_LE, runByteOffset + MIN_STEP_OFFSET));
            long scaleIndices = runByteOffset + HEADER_BYTES;
            long minIndices = scaleIndices + indexArrayBytes(headSize);
            int nibbles = headSize / NIBBLES_PER_BYTE;
            FloatVector biasLanes = FloatVector.zero(F);
            for (int i = 0; i < crumbs; i += L) {
                // Nibble bytes from i hold channels i (low) and i + H/2 (high); from H/4 + i, H/4 + i and 3H/4 + i.
                IntVector scaleLow0 = (IntVector) ByteVector.fromMemorySegment(B, keys, scaleIndices + i, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                IntVector scaleLow1 = (IntVector) ByteVector.fromMemorySegment(B, keys, scaleIndices + crumbs + i, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                IntVector scaleHigh = (IntVector) ByteVector.fromMemorySegment(B, keys, scaleIndices + nibbles + i,
                        LE).convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                IntVector minLow0 = (IntVector) ByteVector.fromMemorySegment(B, keys, minIndices + i, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                IntVector minLow1 = (IntVector) ByteVector.fromMemorySegment(B, keys, minIndices + crumbs + i, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                IntVector minHigh = (IntVector) ByteVector.fromMemorySegment(B, keys, minIndices + nibbles + i, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                for (int k = 0; k < CRUMBS_PER_BYTE; k++) {
                    int lowShift = (k / NIBBLES_PER_BYTE) * LOW_BITS;
                    IntVector scaleIndex = ((k & 1) == 0 ? scaleLow0 : scaleLow1).lanewise(VectorOperators.LSHR,
                            lowShift).and(LOW_MASK).or(scaleHigh.lanewise(VectorOperators.LSHR, k * HIGH_BITS)
                            .and(HIGH_MASK).lanewise(VectorOperators.LSHL, LOW_BITS));
                    IntVector minIndex = ((k & 1) == 0 ? minLow0 : minLow1).lanewise(VectorOperators.LSHR,
                            lowShift).and(LOW_MASK).or(minHigh.lanewise(VectorOperators.LSHR, k * HIGH_BITS)
                            .and(HIGH_MASK).lanewise(VectorOperators.LSHL, LOW_BITS));
                    int c = k * crumbs + i;
                    FloatVector query = FloatVector.fromArray(F, q, qOffset + c);
                    query.mul(((FloatVector) scaleIndex.convertShape(VectorOperators.I2F, F, 0)).mul(step))
                            .intoArray(buffer, c);
                    biasLanes = query.fma(((FloatVector) minIndex.convertShape(VectorOperators.I2F, F, 0))
                            .mul(minStep).add(base), biasLanes);
                }
            }
            biasLanes.intoArray(buffer, headSize);
            float bias = 0f;
            for (int j = 0; j < L; j++) {
                bias += buffer[headSize + j];
            }
            FloatVector roots = FloatVector.broadcast(F, root);
            FloatVector biases = FloatVector.broadcast(F, bias);
            for (int t = 0; t < count; t += CodecVectors.SLOTS_PER_SUM) {
                int n = Math.min(count - t, CodecVectors.SLOTS_PER_SUM);
                // Four positions at a time, so that each vector of q' serves four; a missing one repeats the last.
                long s0 = codes + (long) t * part;
                long s1 = n > 1 ? s0 + part : s0;
                long s2 = n > 2 ? s0 + 2L * part : s1;
                long s3 = n > 3 ? s0 + 3L * part : s2;
                FloatVector acc0 = FloatVector.zero(F);
                FloatVector acc1 = acc0;
                FloatVector acc2 = acc0;
                FloatVector acc3 = acc0;
                for (int i = 0; i < part; i += L) {
                    IntVector p0 = (IntVector) ByteVector.fromMemorySegment(B, keys, s0 + i, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    IntVector p1 = (IntVector) ByteVector.fromMemorySegment(B, keys, s1 + i, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    IntVector p2 = (IntVector) ByteVector.fromMemorySegment(B, keys, s2 + i, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    IntVector p3 = (IntVector) ByteVector.fromMemorySegment(B, keys, s3 + i, LE)
                            .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                    for (int k = 0; k < codesPerByte; k++) {
                        FloatVector scaled = FloatVector.fromArray(F, buffer, k * part + i);
                        int shift = k * bits;
                        acc0 = ((FloatVector) p0.lanewise(VectorOperators.LSHR, shift).and(levels)
                                .convertShape(VectorOperators.I2F, F, 0)).fma(scaled, acc0);
                        acc1 = ((FloatVector) p1.lanewise(VectorOperators.LSHR, shift).and(levels)
                                .convertShape(VectorOperators.I2F, F, 0)).fma(scaled, acc1);
                        acc2 = ((FloatVector) p2.lanewise(VectorOperators.LSHR, shift).and(levels)
                                .convertShape(VectorOperators.I2F, F, 0)).fma(scaled, acc2);
                        acc3 = ((FloatVector) p3.lanewise(VectorOperators.LSHR, shift).and(levels)
                                .convertShape(VectorOperators.I2F, F, 0)).fma(scaled, acc3);
                    }
                }
                // The fixed lane-sum tree of four slots (CodecVectors), then the bias and the root.
                FloatVector pair01 = acc0.add(acc0.rearrange(CodecVectors.FOLD_HALF))
                        .blend(acc1.add(acc1.rearrange(CodecVectors.FOLD_HALF)), CodecVectors.HALF_BIT);
                FloatVector pair23 = acc2.add(acc2.rearrange(CodecVectors.FOLD_HALF))
                        .blend(acc3.add(acc3.rearrange(CodecVectors.FOLD_HALF)), CodecVectors.HALF_BIT);
                FloatVector sums = pair01.add(pair01.rearrange(CodecVectors.FOLD_QUARTER))
                        .blend(pair23.add(pair23.rearrange(CodecVectors.UNFOLD_QUARTER)), CodecVectors.QUARTER_BIT);
                if (L >= 8) {
                    sums = sums.add(sums.rearrange(CodecVectors.FOLD_EIGHTH));
                }
                if (L >= 16) {
                    sums = sums.add(sums.rearrange(CodecVectors.FOLD_SIXTEENTH));
                }
                sums.rearrange(CodecVectors.FOUR_SUMS).add(biases).div(roots).intoArray(scores, scoresOffset + t,
                        F.indexInRange(0, n));
            }
        } else {
            channelFields(keys, runByteOffset, headSize, buffer, headSize, 2 * headSize);
            float bias = 0f;
            for (int c = 0; c < headSize; c++) {
                buffer[c] = q[qOffset + c] * buffer[2 * headSize + c];
                bias += q[qOffset + c] * buffer[headSize + c];
            }
            for (int t = 0; t < count; t++) {
                long slot = codes + (long) t * part;
                float dot = 0f;
                for (int k = 0; k < codesPerByte; k++) {
                    for (int i = 0; i < part; i++) {
                        int code = (keys.get(I8, slot + i) >>> (k * bits)) & levels;
                        dot += buffer[k * part + i] * code;
                    }
                }
                scores[scoresOffset + t] = (dot + bias) / root;
            }
        }
    }

    @Override
    public String toString() {
        return "ChannelKeyCodec(" + kind + ")";
    }
}
