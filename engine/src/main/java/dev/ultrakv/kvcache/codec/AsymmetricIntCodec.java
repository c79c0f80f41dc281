package dev.ultrakv.kvcache.codec;

import static dev.ultrakv.kvcache.codec.CodecVectors.F;
import static dev.ultrakv.kvcache.codec.CodecVectors.F16_LE;
import static dev.ultrakv.kvcache.codec.CodecVectors.I8;
import static dev.ultrakv.kvcache.codec.CodecVectors.L;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

import jdk.incubator.vector.FloatVector;

/**
 * Asymmetric integers of {@code b} bits ({@link Int4Codec}, {@link Int2Codec}): each {@linkplain ChannelGroups
 * group} of {@code G} channels stores a float16 minimum {@code m = f16(min)} and a float16 scale
 * {@code s = f16((max - m) / (2^b - 1))}, and one code per channel, {@code code = clamp(round((x - m) / s), 0,
 * 2^b - 1)}; a value decodes to {@code code · s + m}.
 *
 * <pre>
 * slot:   scale₀ min₀ scale₁ min₁ …  (float16, little-endian) | group 0's P code bytes | group 1's | …
 * group:  P = G·b/8 bytes; bits [k·b, (k+1)·b) of byte i (i &lt; P, k &lt; 8/b) hold channel i + k·P
 *         int4: byte i = channel i (low nibble), channel i + G/2 (high nibble)
 *         int2: byte i = channels i, i + G/4, i + G/2, i + 3G/4 in bits 0-1, 2-3, 4-5, 6-7
 * </pre>
 * At {@code headSize} 64: 36 bytes for int4 (4.5 bits per value), 20 bytes for int2 (2.5 bits per value).
 *
 * <h2>Notes</h2>
 * <b>Packing for vectors.</b> A vector of {@code L} code bytes, widened to ints and shifted right by
 * {@code k·b}, holds the codes of the {@code L} <em>consecutive</em> channels {@code [i + k·P, i + k·P + L)}: each
 * shift lines up with a contiguous slice of the query (scores) or of the output (values), with no shuffles.
 * Headers first keep each group's code bytes contiguous behind them.
 *
 * <p><b>Error.</b> The scale is computed from the <em>rounded</em> minimum, so the top code reaches the maximum.
 * A value in {@code [m, m + (2^b - 1) s]} decodes within {@code s / 2}; one below {@code m} (when the minimum
 * rounded up) is clamped to {@code m}, off by at most {@code |m - min|}; one above the top (when the scale
 * rounded down) is off by at most {@code (2^b - 1) |s - σ|}, {@code σ} the exact scale. So
 * {@code |x - x̂| ≤ σ/2 + |m - min| + (2^b - 1) |s - σ|}, at most
 * {@code (max - min) / (2 (2^b - 1)) + 2⁻¹¹ (|min| + max - min)} for normal float16 fields. A constant group
 * whose value is a float16 (zeros among them) gets scale 0, every code 0 and decodes exactly to {@code m};
 * another constant value gets the tiny scale that bridges it to its rounded minimum.
 *
 * <p><b>Zero-centred variant</b> ({@link Int4Codec#CENTRED}, {@link Int2Codec#CENTRED}): the values of a cache
 * whose keys are per channel ({@link ChannelKeyCodec}), which must give back the bits those keys take. Each group
 * stores only its float16 scale {@code s = f16(absmax / centre)}, {@code centre = (2^b - 1) / 2}; its minimum is
 * {@code m = -centre · s} (exact in float: {@code centre} is 7.5 or 1.5), so the codes span
 * {@code [-absmax, absmax]} symmetrically and include no exact zero. A value decodes within
 * {@code s / 2 + centre |s - σ|}. Everything else (packing, kernels) is the asymmetric codec's with that
 * minimum: 34 bytes per slot for int4 at {@code headSize} 64 (4.25 bits per value), 18 for int2 (2.25).
 *
 * <p><b>Why float16 fields.</b> Their relative error, 2⁻¹¹, is far below the code step ({@code 1/15} or
 * {@code 1/3} of the range). They bound what can be stored: the minimum must lie in ±65504 and the scale be at
 * most 65504, a range of up to 65504 · 15 (int4) or 65504 · 3 (int2); beyond, encoding is refused with the
 * value's channel.
 *
 * <p><b>Attention in registers.</b> A slot's score is {@code Σ_g s_g · Σ_{c∈g} q_c · code_c + Σ_g m_g · Q_g},
 * with {@code Q_g = Σ_{c∈g} q_c} computed once per call (as a vector of lane sums): the code sums run in float
 * vectors, each group's accumulator is scaled by its {@code s_g} and the query's lane sums by {@code m_g}, and
 * the lanes of four slots are summed together in the fixed tree of {@link CodecVectors}. Values add
 * {@code (w_t · s_t) · code_t} per vector of channels kept in a register across the run's slots in position
 * order, and the minima's share {@code Σ_t w_t · m_t} (the same for every channel of a group) once at the end.
 * Groups whose code bytes are not whole vectors take scalar loops of the same structure. Every order depends only
 * on {@code headSize}, {@code count} and the vector length.
 */
abstract sealed class AsymmetricIntCodec implements KvCodec permits Int4Codec, Int2Codec {
    /** Bytes of one group's header: its float16 scale, then its float16 minimum. */
    static final int HEADER_BYTES = 2 * Short.BYTES;
    /** Bytes of one group's header in a zero-centred codec: its float16 scale alone. */
    static final int CENTRED_HEADER_BYTES = Short.BYTES;
    /** Offset of the minimum inside a group's header. */
    static final int MIN_OFFSET = Short.BYTES;

    private final KvCodecKind kind;
    /** Bits per code. */
    final int bits;
    /** Largest code, {@code 2^bits - 1}: also the mask of one code. */
    final int levels;
    /** Codes per byte, {@code 8 / bits}. */
    final int codesPerByte;
    /**
     * Whether the range of every group is centred on zero: only the scale is stored, and the minimum is
     * {@code -centre · s} with {@code centre = levels / 2} (see the class notes).
     */
    final boolean centred;
    /** {@code levels / 2}: a zero-centred group's minimum in steps below zero (7.5 or 1.5, exact in float). */
    final float centre;
    /** Bytes of one group's header: {@link #HEADER_BYTES}, or {@link #CENTRED_HEADER_BYTES} when centred. */
    final int headerBytes;
    /** The geometry of the last head size attended to (see {@link #run}). */
    private Run lastRun;

    AsymmetricIntCodec(KvCodecKind kind, boolean centred) {
        this.kind = kind;
        this.bits = kind.bits();
        this.levels = (1 << bits) - 1;
        this.codesPerByte = Byte.SIZE / bits;
        this.centred = centred;
        this.centre = levels / 2f;
        this.headerBytes = centred ? CENTRED_HEADER_BYTES : HEADER_BYTES;
    }

    @Override
    public final KvCodecKind kind() {
        return kind;
    }

    @Override
    public final long slotBytes(int headSize) {
        int groups = headSize / groupSize(headSize);
        return (long) groups * headerBytes + headSize / codesPerByte;
    }

    final int groupSize(int headSize) {
        return ChannelGroups.groupSize(kind, headSize, codesPerByte);
    }

    /** Whether heads of {@code groupSize}-channel groups take the vector kernels: whole byte vectors per group. */
    final boolean vectorised(int groupSize) {
        return CodecVectors.VECTOR_KERNELS && (groupSize / codesPerByte) % L == 0;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Encoding
    // ---------------------------------------------------------------------------------------------------------

    @Override
    public final void encode(float[] src, int srcOffset, int headSize, MemorySegment dst, long dstByteOffset) {
        int group = groupSize(headSize);
        int groups = headSize / group;
        int part = group / codesPerByte;
        Objects.checkFromIndexSize(srcOffset, headSize, src.length);
        Objects.checkFromIndexSize(dstByteOffset, slotBytes(headSize), dst.byteSize());
        SlotValues.checkFinite(kind, src, srcOffset, headSize);
        // All headers are checked before anything is written, so a refused slot is left as it was.
        for (int g = 0; g < groups; g++) {
            header(src, srcOffset, g * group, group);
        }
        long codes = dstByteOffset + (long) groups * headerBytes;
        for (int g = 0; g < groups; g++) {
            int header = header(src, srcOffset, g * group, group);
            short scaleBits = (short) (header >>> 16);
            short minBits = (short) header;
            long at = dstByteOffset + (long) g * headerBytes;
            dst.set(F16_LE, at, scaleBits);
            float scale = Float.float16ToFloat(scaleBits);
            float min = -centre * scale;
            if (!centred) {
                dst.set(F16_LE, at + MIN_OFFSET, minBits);
                min = Float.float16ToFloat(minBits);
            }
            int from = srcOffset + g * group;
            for (int i = 0; i < part; i++) {
                int packed = 0;
                for (int k = 0; k < codesPerByte; k++) {
                    packed |= code(src[from + k * part + i], min, scale) << (k * bits);
                }
                dst.set(I8, codes + (long) g * part + i, (byte) packed);
            }
        }
    }

    /**
     * The float16 scale (high 16 bits) and minimum (low 16 bits, 0 when centred) of the group of channels
     * {@code [from, from + group)}.
     */
    private int header(float[] src, int srcOffset, int from, int group) {
        if (centred) {
            return centredScale(src, srcOffset, from, group) << 16;
        }
        float min = src[srcOffset + from];
        float max = min;
        int minChannel = from;
        int maxChannel = from;
        for (int c = from + 1; c < from + group; c++) {
            float x = src[srcOffset + c];
            if (x < min) {
                min = x;
                minChannel = c;
            }
            if (x > max) {
                max = x;
                maxChannel = c;
            }
        }
        short minBits = Float.floatToFloat16(min);
        float roundedMin = Float.float16ToFloat(minBits);
        if (Float.isInfinite(roundedMin)) {
            throw SlotValues.unstorable(kind, min, minChannel,
                    "it is its group's minimum, which must be a float16 (within ±65504)");
        }
        // The minimum may round above the maximum in a constant group: scale 0 then.
        float range = Math.max(0f, max - roundedMin);
        float exact = range / levels;
        short scaleBits = Float.floatToFloat16(exact);
        if (Float.isInfinite(Float.float16ToFloat(scaleBits))) {
            throw SlotValues.unstorable(kind, max, maxChannel, "its group spans from " + min + " (channel "
                    + minChannel + "), and the scale (max - min) / " + levels + " = " + exact
                    + " overflows float16 (largest 65504)");
        }
        return (scaleBits & 0xFFFF) << 16 | (minBits & 0xFFFF);
    }

    /** The float16 scale {@code f16(absmax / centre)} of a zero-centred group, as its 16 low bits. */
    private int centredScale(float[] src, int srcOffset, int from, int group) {
        return SlotValues.symmetricScale(kind, src, srcOffset, from, group, centre) & 0xFFFF;
    }

    /**
     * {@code clamp(round((x - min) / scale), 0, levels)}, rounding to the nearest with ties to even, and 0 for a
     * zero scale (a constant group).
     */
    final int code(float x, float min, float scale) {
        if (scale == 0f) {
            return 0;
        }
        return (int) Math.clamp(Math.rint((x - min) / scale), 0, levels);
    }

    @Override
    public final void decode(MemorySegment src, long srcByteOffset, int headSize, float[] dst, int dstOffset) {
        int group = groupSize(headSize);
        int groups = headSize / group;
        int part = group / codesPerByte;
        Objects.checkFromIndexSize(dstOffset, headSize, dst.length);
        Objects.checkFromIndexSize(srcByteOffset, slotBytes(headSize), src.byteSize());
        long codes = srcByteOffset + (long) groups * headerBytes;
        for (int g = 0; g < groups; g++) {
            float scale = scale(src, srcByteOffset, g);
            float min = min(src, srcByteOffset, g);
            for (int k = 0; k < codesPerByte; k++) {
                for (int i = 0; i < part; i++) {
                    int code = (src.get(I8, codes + (long) g * part + i) >>> (k * bits)) & levels;
                    dst[dstOffset + g * group + k * part + i] = code * scale + min;
                }
            }
        }
    }

    final float scale(MemorySegment segment, long slot, int group) {
        return Float.float16ToFloat(segment.get(F16_LE, slot + (long) group * headerBytes));
    }

    final float min(MemorySegment segment, long slot, int group) {
        if (centred) {
            return -centre * scale(segment, slot, group);
        }
        return Float.float16ToFloat(segment.get(F16_LE, slot + (long) group * HEADER_BYTES + MIN_OFFSET));
    }



    // ---------------------------------------------------------------------------------------------------------
    // Attention
    // ---------------------------------------------------------------------------------------------------------

    @Override
    public final void attentionScores(float[] q, int qOffset, int headSize, MemorySegment keys, long runByteOffset,
                                      int count, float[] scores, int scoresOffset) {
        Run run = run(headSize);
        int group = run.group();
        int groups = run.groups();
        RunBounds.check(keys, runByteOffset, count, run.slotBytes());
        Objects.checkFromIndexSize(qOffset, headSize, q.length);
        Objects.checkFromIndexSize(scoresOffset, count, scores.length);
        float root = (float) Math.sqrt(headSize);
        if (vectorised(group)) {
            scoresVector(q, qOffset, keys, runByteOffset, count, run, scores, scoresOffset, root);
        } else {
            // qSums[g] = Q_g, the query's sum over group g, in channel order.
            float[] qSums = RunScratch.floats(groups);
            for (int g = 0; g < groups; g++) {
                float sum = 0f;
                for (int c = g * group; c < (g + 1) * group; c++) {
                    sum += q[qOffset + c];
                }
                qSums[g] = sum;
            }
            scoresScalar(q, qOffset, qSums, keys, runByteOffset, count, run, scores, scoresOffset, root);
        }
    }

    /**
     * The geometry of the slots of {@code headSize} channels, from a one-entry cache: a model has one head size,
     * so attention computes the groups once, not per call, and allocates nothing. The cache field is read and
     * written without synchronisation; a {@link Run} is immutable (final fields), so a thread sees either a
     * complete one or computes its own.
     */
    final Run run(int headSize) {
        Run run = lastRun;
        if (run == null || run.headSize() != headSize) {
            int group = groupSize(headSize);
            run = new Run(headSize, group, headSize / group, slotBytes(headSize), headerBytes);
            lastRun = run;
        }
        return run;
    }

    /** The geometry of a run's slots: channels per slot and per group, groups per slot, bytes per slot. */
    record Run(int headSize, int group, int groups, long slotBytes, int headerBytes) {
        /** Code bytes of one group. */
        int part(int codesPerByte) {
            return group / codesPerByte;
        }

        /** Bytes of a slot's headers: where its codes start. */
        long header() {
            return (long) groups * headerBytes;
        }
    }

    /**
     * The vector kernel of {@link #attentionScores}, {@link #vectorised} holding for {@code run.group()}. For
     * four slots at a time, {@link #slotLanes} leaves each slot's {@code Σ_g (s_g · acc_g + m_g · Q_g)}, lane by
     * lane, in a buffer ({@code acc_g} the products {@code q_c · code_c} of group {@code g} summed lane by lane,
     * {@code Q_g} the query's vectors of group {@code g} summed lane by lane); their lanes are then summed
     * together (see {@link CodecVectors}), divided by {@code root} and stored.
     *
     * <p>Why through a buffer, not in one method as {@link Int8Codec} does: unpacking nibbles and crumbs takes
     * several vector operations per code vector, and {@link #slotLanes} for four slots is too large for C2 to
     * inline ({@code FreqInlineSize}); it is compiled on its own, and only arrays and scalars cross the call.
     */
    private void scoresVector(float[] q, int qOffset, MemorySegment keys, long runByteOffset, int count, Run run,
                              float[] scores, int scoresOffset, float root) {
        int groups = run.groups();
        int group = run.group();
        long slotBytes = run.slotBytes();
        // buffer[g·L + j] = lane j of Q_g, then the lanes of the four slots being summed.
        float[] buffer = RunScratch.floats((groups + CodecVectors.SLOTS_PER_SUM) * L);
        for (int g = 0; g < groups; g++) {
            FloatVector sum = FloatVector.zero(F);
            for (int c = g * group; c < (g + 1) * group; c += L) {
                sum = sum.add(FloatVector.fromArray(F, q, qOffset + c));
            }
            sum.intoArray(buffer, g * L);
        }
        int at = groups * L;
        FloatVector roots = FloatVector.broadcast(F, root);
        for (int t = 0; t < count; t += CodecVectors.SLOTS_PER_SUM) {
            int n = Math.min(count - t, CodecVectors.SLOTS_PER_SUM);
            slotLanes(q, qOffset, buffer, keys, runByteOffset + t * slotBytes, n, run, at);
            FloatVector total0 = FloatVector.fromArray(F, buffer, at);
            FloatVector total1 = FloatVector.fromArray(F, buffer, at + L);
            FloatVector total2 = FloatVector.fromArray(F, buffer, at + 2 * L);
            FloatVector total3 = FloatVector.fromArray(F, buffer, at + 3 * L);
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
                    F.indexInRange(0, n));
        }
    }

    /**
     * Stores {@code Σ_g (s_g · acc_g + m_g · Q_g)} of the {@code n ≤ 4} slots from {@code first}, lane by lane, at
     * {@code buffer[at + k·L, at + (k + 1)·L)} for slot {@code k}; {@code Q_g} is at {@code buffer[g·L, g·L + L)}
     * (see {@link #scoresVector}). The four slots go through one loop together, as {@link Int8Codec}'s do, so that
     * each query vector loaded serves four (a missing slot repeats the last one); the vector code is written out
     * in full and the header fields are read in place, not through helper methods (see {@link CodecVectors}).
     */
    abstract void slotLanes(float[] q, int qOffset, float[] buffer, MemorySegment keys, long first, int n, Run run,
                            int at);

    private void scoresScalar(float[] q, int qOffset, float[] qSums, MemorySegment keys, long runByteOffset,
                              int count, Run run, float[] scores, int scoresOffset, float root) {
        int part = run.part(codesPerByte);
        for (int t = 0; t < count; t++) {
            long slot = runByteOffset + t * run.slotBytes();
            long codes = slot + run.header();
            float total = 0f;
            float bias = 0f;
            for (int g = 0; g < run.groups(); g++) {
                float dot = 0f;
                for (int k = 0; k < codesPerByte; k++) {
                    int qc = qOffset + g * run.group() + k * part;
                    for (int i = 0; i < part; i++) {
                        int code = (keys.get(I8, codes + (long) g * part + i) >>> (k * bits)) & levels;
                        dot += q[qc + i] * code;
                    }
                }
                total += dot * scale(keys, slot, g);
                bias += min(keys, slot, g) * qSums[g];
            }
            scores[scoresOffset + t] = (total + bias) / root;
        }
    }

    @Override
    public final void attentionValues(float[] weights, int weightsOffset, MemorySegment values, long runByteOffset,
                                      int count, int headSize, float[] out, int outOffset) {
        Run run = run(headSize);
        int groups = run.groups();
        long slotBytes = run.slotBytes();
        RunBounds.check(values, runByteOffset, count, slotBytes);
        Objects.checkFromIndexSize(weightsOffset, count, weights.length);
        Objects.checkFromIndexSize(outOffset, headSize, out.length);
        // factors[t * groups + g] = w_t · s_tg, then biases[g] = Σ_t w_t · m_tg in position order, at the end.
        int biases = count * groups;
        float[] factors = RunScratch.floats(biases + groups);
        for (int g = 0; g < groups; g++) {
            factors[biases + g] = 0f;
        }
        for (int t = 0; t < count; t++) {
            long slot = runByteOffset + t * slotBytes;
            float w = weights[weightsOffset + t];
            for (int g = 0; g < groups; g++) {
                factors[t * groups + g] = w * scale(values, slot, g);
                factors[biases + g] += w * min(values, slot, g);
            }
        }
        if (vectorised(run.group())) {
            valuesVector(factors, values, runByteOffset, count, run, out, outOffset);
        } else {
            valuesScalar(factors, values, runByteOffset, count, run, out, outOffset);
        }
    }

    /**
     * The vector kernel of {@link #attentionValues}: adds {@code factors[t·groups + g] · code} for every slot
     * {@code t} and then {@code factors[count·groups + g]} to each channel of group {@code g}.
     */
    abstract void valuesVector(float[] factors, MemorySegment values, long runByteOffset, int count, Run run,
                               float[] out, int outOffset);

    private void valuesScalar(float[] factors, MemorySegment values, long runByteOffset, int count, Run run,
                              float[] out, int outOffset) {
        int part = run.part(codesPerByte);
        int groups = run.groups();
        for (int t = 0; t < count; t++) {
            long codes = runByteOffset + t * run.slotBytes() + run.header();
            for (int g = 0; g < groups; g++) {
                float factor = factors[t * groups + g];
                for (int k = 0; k < codesPerByte; k++) {
                    int oc = outOffset + g * run.group() + k * part;
                    for (int i = 0; i < part; i++) {
                        int code = (values.get(I8, codes + (long) g * part + i) >>> (k * bits)) & levels;
                        out[oc + i] += factor * code;
                    }
                }
            }
        }
        for (int g = 0; g < groups; g++) {
            float bias = factors[count * groups + g];
            for (int c = g * run.group(); c < (g + 1) * run.group(); c++) {
                out[outOffset + c] += bias;
            }
        }
    }
}
