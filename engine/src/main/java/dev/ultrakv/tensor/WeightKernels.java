package dev.ultrakv.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;

import jdk.incubator.vector.ByteVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.ShortVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The dot products and dequantization of each storage type, called by the {@link FloatTensor} subclasses; the
 * canonical sum of a vector's lanes ({@link #sumLanes}) that every dot product of the engine ends with; and the
 * vector species, block size and little-endian layouts that all kernels of the package share
 * ({@link Matmul}, {@link VectorOps}, {@link Attention}).
 *
 * <h2>Notes</h2>
 * <b>Agreement with llama2.c.</b> UltraKV must generate the same text as llama2.c's {@code run.c} for the same
 * model and sampler. Where it costs little, kernels repeat run.c's float arithmetic in its order: the
 * elementwise parts of {@link VectorOps#rmsnorm}, {@link VectorOps#rope}, {@link VectorOps#swiglu},
 * {@link VectorOps#add}, {@link VectorOps#axpy}, the attention value sum ({@link Attention#attentionValues}) and
 * the sampler's softmax give bit-identical results (multiplications and additions are kept separate, never fused,
 * since run.c is built without FMA contraction). Sums over long vectors (matmul, dot, attention scores) are
 * vectorised and so add in a different order, and the attention's softmax ({@link Attention#softmax}) takes its
 * exponentials from a vector polynomial within 2 ulp of {@code expf} (a quarter of a long prefill was scalar
 * {@code exp}); they agree to a few ulps, which greedy and sampled decoding of the reference models absorb.
 *
 * <p><b>The canonical order of a sum.</b> Every dot product (decode's matvec, prefill's matmul tiles, attention
 * scores) adds in one order that depends only on the number of elements: lane {@code j} of one vector
 * accumulator takes elements {@code j, j + L, j + 2L, ...} by fused multiply-add, in element order, the last
 * chunk padded with zeros; then {@link #sumLanes} folds the lanes by a fixed tree. Quantized weights are
 * dequantized to floats first, exactly as {@link FloatTensor#copyTo} does, and summed in two such chains, the
 * even chunks in one and the odd chunks in another, added lane by lane before the fold ({@link #dotTwoChains}):
 * with one chain a quantized decode waited on its own FMA latency. So a result never depends on the address of
 * the weights, on the batch a row is part of, on the thread or on whether the JIT has compiled the loop: prefix
 * caching (a prompt's tail computed without its head) and continuous batching give the logits of a plain run bit
 * for bit. The price is one accumulator (two for quantized types) per output: decode cannot interleave rows
 * within one sum, and prefill tiles must keep one or two accumulators per output in registers.
 *
 * <p><b>Vector loops.</b> Quantized types read whole blocks (32 elements, 256 for the K-quants' super-blocks,
 * whose kernels are in {@link LegacyQuantKernels} and {@link KQuantKernels}) and dequantize inside the vector loop,
 * never into an inflated copy of the tensor; batched matmul dequantizes one tile of rows at a time into a small
 * per-thread buffer and reuses it across the whole batch (see {@link Matmul#matmul}).
 */
final class WeightKernels {

    /** The widest float vector the CPU runs natively (512 bits on AVX-512). */
    static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /** Floats per vector. */
    static final int L = F.length();
    /** Ints of the same lane count as {@link #F}, for bit manipulation of converted halves. */
    static final VectorSpecies<Integer> I = F.withLanes(int.class);
    /** Shorts of the same lane count as {@link #F}: one load of 16-bit elements fills one float vector. */
    static final VectorSpecies<Short> S = VectorSpecies.of(short.class, VectorShape.forBitSize(L * Short.SIZE));
    /** Bytes of the same lane count as {@link #F} (at least the 64-bit minimum shape). */
    static final VectorSpecies<Byte> B = VectorSpecies.of(byte.class,
            VectorShape.forBitSize(Math.max(64, L * Byte.SIZE)));
    /** Elements per block of Q4_0 and Q8_0 (ggml's QK4_0 and QK8_0), and of Q4_1, Q5_0 and Q5_1. */
    static final int QK = 32;

    /** Quantized kernels vectorise when a byte vector has one lane per float lane and divides a half block. */
    static final boolean QUANT_SIMD = B.length() == L && (QK / 2) % L == 0;

    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfByte I8 = ValueLayout.JAVA_BYTE;
    static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    private WeightKernels() {
    }

    /**
     * Sums the lanes of {@code v} by a fixed tree: lane {@code i} plus lane {@code i + L/2}, then the same on the
     * halves, down to lane 0. Unlike {@code reduceLanes(ADD)}, whose order the Vector API leaves open (the
     * interpreter and C2 were seen to add differently), every run gives the same bits.
     */
    static float sumLanes(FloatVector v) {
        // Constant shuffles (static final fields, conditions on the constant L) so that C2 turns each fold into
        // one permute; a shuffle read from a collection is not a constant and falls back to slow Java code.
        v = v.add(v.rearrange(FOLD_HALF));
        if (L >= 4) {
            v = v.add(v.rearrange(FOLD_QUARTER));
        }
        if (L >= 8) {
            v = v.add(v.rearrange(FOLD_EIGHTH));
        }
        if (L >= 16) {
            v = v.add(v.rearrange(FOLD_SIXTEENTH));
        }
        return v.lane(0);
    }

    /** The folds of {@link #sumLanes}: lane {@code i} takes lane {@code (i + L/k) mod L}. */
    static final VectorShuffle<Float> FOLD_HALF = fold(2);
    static final VectorShuffle<Float> FOLD_QUARTER = fold(4);
    private static final VectorShuffle<Float> FOLD_EIGHTH = fold(8);
    private static final VectorShuffle<Float> FOLD_SIXTEENTH = fold(16);

    private static VectorShuffle<Float> fold(int parts) {
        int shift = Math.max(1, L / parts);
        return VectorShuffle.fromOp(F, i -> (i + shift) % L);
    }

    /**
     * The last folds of {@link #sumLanes}, bit for bit, for a vector stored at {@code lanes[offset..]} that has
     * already taken the folds by L/2 and L/4: lanes {@code [0, L/4)} are left, and fold as the tree does.
     */
    static float foldQuarterLanes(float[] lanes, int offset) {
        if (L >= 16) {
            return (lanes[offset] + lanes[offset + 2]) + (lanes[offset + 1] + lanes[offset + 3]);
        }
        if (L == 8) {
            return lanes[offset] + lanes[offset + 1];
        }
        return lanes[offset];
    }

    /** Lanes {@code [0, n)} of a vector, for the zero-padded last chunk of a row (n < L). */
    static VectorMask<Float> tailMask(int n) {
        return F.indexInRange(0, n);
    }

    /** Σ W[i]·x[xOffset + i] over {@code n} float32 weights at {@code byteOffset}, in the canonical order. */
    static float dotF32(MemorySegment w, long byteOffset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            acc = FloatVector.fromMemorySegment(F, w, byteOffset + (long) i * Float.BYTES, LE)
                    .fma(FloatVector.fromArray(F, x, xOffset + i), acc);
        }
        if (i < n) {
            VectorMask<Float> m = tailMask(n - i);
            acc = FloatVector.fromMemorySegment(F, w, byteOffset + (long) i * Float.BYTES, LE, m)
                    .fma(FloatVector.fromArray(F, x, xOffset + i, m), acc);
        }
        return sumLanes(acc);
    }

    /** Converts {@link #L} bfloat16 values (as raw shorts) to floats. */
    private static FloatVector bf16ToFloat(ShortVector halves) {
        IntVector bits = (IntVector) halves.convertShape(VectorOperators.S2I, I, 0);
        return bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /**
     * Σ W[i]·x[xOffset + i] over {@code n} float16 weights at {@code byteOffset}, converted in registers by
     * {@link #f16ToFloatForArithmetic}, in the canonical order.
     */
    static float dotF16(MemorySegment w, long byteOffset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            FloatVector wv = f16ToFloatForArithmetic(ShortVector.fromMemorySegment(S, w, byteOffset + 2L * i, LE));
            acc = wv.fma(FloatVector.fromArray(F, x, xOffset + i), acc);
        }
        if (i < n) {
            float[] tail = new float[L];
            copyF16(w, byteOffset + 2L * i, tail, 0, n - i);
            acc = FloatVector.fromArray(F, tail, 0).fma(FloatVector.fromArray(F, x, xOffset + i, tailMask(n - i)), acc);
        }
        return sumLanes(acc);
    }

    /**
     * Converts {@link #L} float16 values (raw shorts) to floats with integer operations (JDK 25's Vector API has no
     * float16 conversion): exact for every finite value and infinity, and NaN for NaN, though a signalling NaN
     * stays signalling where {@link Float#float16ToFloat} quiets it; any arithmetic on it quiets it anyway. Used
     * where the values feed arithmetic at once (converting through memory with {@link #copyF16} is faster in bulk
     * but stalls a dot product on store forwarding).
     */
    static FloatVector f16ToFloatForArithmetic(ShortVector halves) {
        IntVector bits = (IntVector) halves.convertShape(VectorOperators.ZERO_EXTEND_S2I, I, 0);
        // Exponent and mantissa moved to float32 positions; scaling by 2^(127-15) rebiases the exponent and turns
        // half subnormals into float normals exactly. Half infinities and NaNs (exponent 31) land at 2^16 and
        // above, where no finite half does, and get an all-ones exponent.
        FloatVector scaled = bits.and(0x7fff).lanewise(VectorOperators.LSHL, 13).reinterpretAsFloats().mul(0x1p112f);
        IntVector magnitude = scaled.reinterpretAsInts()
                .lanewise(VectorOperators.OR, 0x7f800000, scaled.compare(VectorOperators.GE, 0x1p16f).cast(I));
        return magnitude.or(bits.lanewise(VectorOperators.LSHL, 16).and(0x80000000)).reinterpretAsFloats();
    }

    /**
     * Converts {@code n} float16 values at {@code byteOffset} into {@code dst[dstOffset, dstOffset + n)}.
     *
     * <p>A plain loop over {@link Float#float16ToFloat}: C2 vectorises it with the CPU's half-precision
     * conversion (F16C {@code vcvtph2ps}), about 2 cycles per 16 values here, three times faster than converting
     * the bits with Vector API integer operations, which JDK 25 offers no float16 conversion for. Bit-exact,
     * NaNs included.
     */
    static void copyF16(MemorySegment w, long byteOffset, float[] dst, int dstOffset, int n) {
        for (int i = 0; i < n; i++) {
            dst[dstOffset + i] = Float.float16ToFloat(w.get(I16_LE, byteOffset + 2L * i));
        }
    }

    /** Σ W[i]·x[xOffset + i] over {@code n} bfloat16 weights at {@code byteOffset}, in the canonical order. */
    static float dotBF16(MemorySegment w, long byteOffset, float[] x, int xOffset, int n) {
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            FloatVector wv = bf16ToFloat(ShortVector.fromMemorySegment(S, w, byteOffset + 2L * i, LE));
            acc = wv.fma(FloatVector.fromArray(F, x, xOffset + i), acc);
        }
        if (i < n) {
            float[] tail = new float[L];
            copyBF16(w, byteOffset + 2L * i, tail, 0, n - i);
            acc = FloatVector.fromArray(F, tail, 0).fma(FloatVector.fromArray(F, x, xOffset + i, tailMask(n - i)), acc);
        }
        return sumLanes(acc);
    }

    /** Converts {@code n} bfloat16 values at {@code byteOffset} into {@code dst[dstOffset, dstOffset + n)}. */
    static void copyBF16(MemorySegment w, long byteOffset, float[] dst, int dstOffset, int n) {
        int i = 0;
        for (; i + L <= n; i += L) {
            bf16ToFloat(ShortVector.fromMemorySegment(S, w, byteOffset + 2L * i, LE)).intoArray(dst, dstOffset + i);
        }
        for (; i < n; i++) {
            dst[dstOffset + i] = Float.intBitsToFloat(w.get(I16_LE, byteOffset + 2L * i) << 16);
        }
    }

    /** The float16 scale of the quantized block starting at {@code blockByte}. */
    static float blockScale(MemorySegment w, long blockByte) {
        return Float.float16ToFloat(w.get(I16_LE, blockByte));
    }

    /**
     * Σ W[i]·x[xOffset + i] over {@code blocks} Q8_0 blocks starting at block {@code firstBlock}, in the canonical
     * order of the quantized types ({@link #dotTwoChains}): each weight is dequantized to {@code q · scale} exactly
     * as {@link #copyQ8_0} does, then multiplied and added (ggml instead scales each block's sum, which is cheaper
     * but would make decode disagree with prefill).
     */
    static float dotQ8_0(MemorySegment w, long firstBlock, float[] x, int xOffset, int blocks) {
        if (!QUANT_SIMD) {
            return dotScalar(GgmlType.Q8_0, w, firstBlock, x, xOffset, blocks);
        }
        final int blockBytes = GgmlType.Q8_0.blockBytes();
        FloatVector even = FloatVector.zero(F);
        FloatVector odd = FloatVector.zero(F);
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            FloatVector scale = FloatVector.broadcast(F, blockScale(w, o));
            int xo = xOffset + k * QK;
            for (int j = 0; j < QK; j += 2 * L) {
                ByteVector q = ByteVector.fromMemorySegment(B, w, o + Short.BYTES + j, LE);
                even = ((FloatVector) q.convertShape(VectorOperators.B2F, F, 0)).mul(scale)
                        .fma(FloatVector.fromArray(F, x, xo + j), even);
                q = ByteVector.fromMemorySegment(B, w, o + Short.BYTES + j + L, LE);
                odd = ((FloatVector) q.convertShape(VectorOperators.B2F, F, 0)).mul(scale)
                        .fma(FloatVector.fromArray(F, x, xo + j + L), odd);
            }
        }
        return sumLanes(even.add(odd));
    }

    /**
     * Dequantizes {@code blocks} Q8_0 blocks starting at block {@code firstBlock}: vector-sized chunk {@code c} of
     * the range goes to {@code dst} at {@link #chunkStart chunkStart(c, evenBase, oddBase, step)}. With
     * {@code (dstOffset, dstOffset + L, 2L)} the elements land in order; with {@code (dstOffset, dstOffset + n/2,
     * L)} as the two chains of {@link #dotTwoChains}, each contiguous, which is how prefill multiplies them.
     */
    static void copyQ8_0(MemorySegment w, long firstBlock, float[] dst, int evenBase, int oddBase, int step,
                         int blocks) {
        if (!QUANT_SIMD) {
            copyScalar(GgmlType.Q8_0, w, firstBlock, dst, evenBase, oddBase, step, blocks);
            return;
        }
        final int blockBytes = GgmlType.Q8_0.blockBytes();
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            FloatVector scale = FloatVector.broadcast(F, blockScale(w, o));
            // Chunks 2p and 2p + 1 of the range, for each pair p of the block (one pair with 16-float vectors).
            for (int j = 0, p = k * QK / (2 * L); j < QK; j += 2 * L, p++) {
                ByteVector q = ByteVector.fromMemorySegment(B, w, o + Short.BYTES + j, LE);
                ((FloatVector) q.convertShape(VectorOperators.B2F, F, 0)).mul(scale)
                        .intoArray(dst, evenBase + p * step);
                q = ByteVector.fromMemorySegment(B, w, o + Short.BYTES + j + L, LE);
                ((FloatVector) q.convertShape(VectorOperators.B2F, F, 0)).mul(scale)
                        .intoArray(dst, oddBase + p * step);
            }
        }
    }

    /**
     * Where chunk {@code c} of a dequantized range goes: even chunks from {@code evenBase}, odd ones from
     * {@code oddBase}, {@code step} apart.
     */
    static int chunkStart(int c, int evenBase, int oddBase, int step) {
        return ((c & 1) == 0 ? evenBase : oddBase) + (c >> 1) * step;
    }

    /**
     * Σ W[i]·x[xOffset + i] over {@code blocks} Q4_0 blocks starting at block {@code firstBlock}, in the canonical
     * order: weights dequantized to {@code (q - 8) · scale} exactly as {@link #copyQ4_0} does.
     *
     * <p>Where a float vector has 16 lanes (AVX-512), a nibble is dequantized by a table lookup: the block's 16
     * possible values {@code (q - 8) · scale} are one vector, computed once per block, and each nibble selects its
     * lane (one permute instead of a mask, a conversion, a subtraction and a multiplication per 16 weights; the
     * same products, so the same bits). The packed bytes are widened to 32-bit lanes once: their low nibbles
     * index the table directly ({@code selectFrom} wraps indices modulo 16) and their high nibbles after one
     * shift. Vectors go straight into the accumulator, never into an array (C2 boxes vectors kept in arrays).
     */
    static float dotQ4_0(MemorySegment w, long firstBlock, float[] x, int xOffset, int blocks) {
        if (!QUANT_SIMD) {
            return dotScalar(GgmlType.Q4_0, w, firstBlock, x, xOffset, blocks);
        }
        if (!Q4_LOOKUP) {
            return dotQ4_0Arithmetic(w, firstBlock, x, xOffset, blocks);
        }
        final int blockBytes = GgmlType.Q4_0.blockBytes();
        FloatVector even = FloatVector.zero(F);
        FloatVector odd = FloatVector.zero(F);
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            IntVector table = Q4_LEVELS.mul(blockScale(w, o)).reinterpretAsInts();
            IntVector packed = (IntVector) ByteVector.fromMemorySegment(B, w, o + Short.BYTES, LE)
                    .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
            int xo = xOffset + k * QK;
            even = packed.selectFrom(table).reinterpretAsFloats().fma(FloatVector.fromArray(F, x, xo), even);
            odd = packed.lanewise(VectorOperators.LSHR, 4).selectFrom(table).reinterpretAsFloats()
                    .fma(FloatVector.fromArray(F, x, xo + QK / 2), odd);
        }
        return sumLanes(even.add(odd));
    }

    /**
     * Q4_0 dequantization by table needs the 16 nibble values in one vector: 16 float lanes. Narrower vectors
     * dequantize arithmetically ({@link #dotQ4_0Arithmetic}), with the same products.
     */
    static final boolean Q4_LOOKUP = L == 16;
    /** Lane {@code q} holds {@code q - 8}: a Q4_0 nibble's level before its block's scale. */
    private static final FloatVector Q4_LEVELS = FloatVector.fromArray(F, q4Levels(), 0);

    private static float[] q4Levels() {
        float[] levels = new float[Math.max(L, 16)];
        for (int q = 0; q < levels.length; q++) {
            levels[q] = q - 8;
        }
        return levels;
    }

    /** {@link #dotQ4_0} for vectors of other than 16 floats: mask, convert, subtract 8, scale. */
    private static float dotQ4_0Arithmetic(MemorySegment w, long firstBlock, float[] x, int xOffset, int blocks) {
        final int blockBytes = GgmlType.Q4_0.blockBytes();
        FloatVector eight = FloatVector.broadcast(F, 8f);
        FloatVector even = FloatVector.zero(F);
        FloatVector odd = FloatVector.zero(F);
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            FloatVector scale = FloatVector.broadcast(F, blockScale(w, o));
            int xo = xOffset + k * QK;
            // Here L = 8: the low nibbles of bytes 0..7 and 8..15 are chunks 0 and 1 of the block, their high nibbles
            // chunks 2 and 3; each chain takes its chunks in element order.
            for (int j = 0; j < QK / 2; j += 2 * L) {
                IntVector packed = (IntVector) ByteVector.fromMemorySegment(B, w, o + Short.BYTES + j, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                even = ((FloatVector) packed.and(0x0F).convertShape(VectorOperators.I2F, F, 0)).sub(eight).mul(scale)
                        .fma(FloatVector.fromArray(F, x, xo + j), even);
                FloatVector high = ((FloatVector) packed.lanewise(VectorOperators.LSHR, 4)
                        .convertShape(VectorOperators.I2F, F, 0)).sub(eight).mul(scale);
                packed = (IntVector) ByteVector.fromMemorySegment(B, w, o + Short.BYTES + j + L, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                odd = ((FloatVector) packed.and(0x0F).convertShape(VectorOperators.I2F, F, 0)).sub(eight).mul(scale)
                        .fma(FloatVector.fromArray(F, x, xo + j + L), odd);
                even = high.fma(FloatVector.fromArray(F, x, xo + QK / 2 + j), even);
                odd = ((FloatVector) packed.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0))
                        .sub(eight).mul(scale).fma(FloatVector.fromArray(F, x, xo + QK / 2 + j + L), odd);
            }
        }
        return sumLanes(even.add(odd));
    }

    /** Dequantizes Q4_0 blocks, placing their chunks as {@link #copyQ8_0} does. */
    static void copyQ4_0(MemorySegment w, long firstBlock, float[] dst, int evenBase, int oddBase, int step,
                         int blocks) {
        if (!QUANT_SIMD) {
            copyScalar(GgmlType.Q4_0, w, firstBlock, dst, evenBase, oddBase, step, blocks);
            return;
        }
        final int blockBytes = GgmlType.Q4_0.blockBytes();
        if (Q4_LOOKUP) {
            for (int k = 0; k < blocks; k++) { // chunks 2k (low nibbles) and 2k + 1 (high nibbles)
                long o = (firstBlock + k) * blockBytes;
                IntVector table = Q4_LEVELS.mul(blockScale(w, o)).reinterpretAsInts();
                IntVector packed = (IntVector) ByteVector.fromMemorySegment(B, w, o + Short.BYTES, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                packed.selectFrom(table).reinterpretAsFloats().intoArray(dst, evenBase + k * step);
                packed.lanewise(VectorOperators.LSHR, 4).selectFrom(table).reinterpretAsFloats()
                        .intoArray(dst, oddBase + k * step);
            }
            return;
        }
        FloatVector eight = FloatVector.broadcast(F, 8f);
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            FloatVector scale = FloatVector.broadcast(F, blockScale(w, o));
            for (int j = 0; j < QK / 2; j += L) {
                IntVector packed = (IntVector) ByteVector.fromMemorySegment(B, w, o + Short.BYTES + j, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                ((FloatVector) packed.and(0x0F).convertShape(VectorOperators.I2F, F, 0)).sub(eight).mul(scale)
                        .intoArray(dst, chunkStart((k * QK + j) / L, evenBase, oddBase, step));
                ((FloatVector) packed.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0))
                        .sub(eight).mul(scale)
                        .intoArray(dst, chunkStart((k * QK + QK / 2 + j) / L, evenBase, oddBase, step));
            }
        }
    }

    /**
     * The canonical order of the quantized types: Σ w[wOffset + i]·x[xOffset + i] over {@code n} elements, a
     * multiple of 2L, taken by two chains. The even chunks of {@link #L} elements (0, 2, 4, ...) go into one vector
     * accumulator and the odd chunks into another, each by fused multiply-add in element order; then the two
     * accumulators are added lane by lane and folded by {@link #sumLanes}.
     *
     * <p>Why two: one accumulator makes a quantized dot wait on its own FMA latency (two dependent FMAs per
     * block), and dequantizing is cheap enough that the wait, not the arithmetic or the memory, was what bound
     * decode. Two chains run 1.4× faster per core. Prefill's register tile for quantized types keeps the same two
     * accumulators per output (see {@link Matmul}), so decode and prefill still agree bit for bit.
     */
    static float dotTwoChains(float[] w, int wOffset, float[] x, int xOffset, int n) {
        if (n % (2 * L) != 0) {
            throw new IllegalArgumentException("two-chain dot of " + n + " elements: not a multiple of " + 2 * L);
        }
        FloatVector even = FloatVector.zero(F);
        FloatVector odd = FloatVector.zero(F);
        for (int i = 0; i < n; i += 2 * L) {
            even = FloatVector.fromArray(F, w, wOffset + i).fma(FloatVector.fromArray(F, x, xOffset + i), even);
            odd = FloatVector.fromArray(F, w, wOffset + i + L).fma(FloatVector.fromArray(F, x, xOffset + i + L), odd);
        }
        return sumLanes(even.add(odd));
    }

    /**
     * Copies {@code n} floats (a multiple of 2L) from {@code src} to {@code dst} as the even vectors of {@link #L}
     * floats followed by the odd ones: the two chains of {@link #dotTwoChains}, each contiguous.
     */
    static void splitChains(float[] src, int srcOffset, float[] dst, int dstOffset, int n) {
        int half = n / 2;
        for (int i = 0, j = 0; i < n; i += 2 * L, j += L) {
            FloatVector.fromArray(F, src, srcOffset + i).intoArray(dst, dstOffset + j);
            FloatVector.fromArray(F, src, srcOffset + i + L).intoArray(dst, dstOffset + half + j);
        }
    }

    /** Fallback for CPUs whose vectors are too narrow for the block kernels: dequantize, then the two chains. */
    private static float dotScalar(GgmlType type, MemorySegment w, long firstBlock, float[] x, int xOffset,
                                   int blocks) {
        float[] weights = new float[blocks * QK];
        copyScalar(type, w, firstBlock, weights, 0, L, 2 * L, blocks);
        return dotTwoChains(weights, 0, x, xOffset, weights.length);
    }

    /** Scalar dequantization of Q8_0 or Q4_0 blocks, placing their chunks as {@link #copyQ8_0} does. */
    private static void copyScalar(GgmlType type, MemorySegment w, long firstBlock, float[] dst, int evenBase,
                                   int oddBase, int step, int blocks) {
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * type.blockBytes();
            float scale = blockScale(w, o);
            for (int j = 0; j < QK; j++) {
                int q;
                if (type == GgmlType.Q8_0) {
                    q = w.get(I8, o + Short.BYTES + j);
                } else {
                    int packed = w.get(I8, o + Short.BYTES + j % (QK / 2)) & 0xFF;
                    q = (j < QK / 2 ? packed & 0x0F : packed >>> 4) - 8;
                }
                int e = k * QK + j;
                dst[chunkStart(e / L, evenBase, oddBase, step) + e % L] = q * scale;
            }
        }
    }
}
