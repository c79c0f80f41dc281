package dev.ultrakv.tensor;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;

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
 * The numeric kernels of the forward pass, all in one place: matrix multiplication over every {@link GgmlType},
 * normalisation, rotary embedding, softmax, attention and the elementwise operations.
 *
 * <p>Arrays are addressed by explicit offsets so that callers can work inside larger buffers without copying.
 * Methods are stateless and thread-safe; {@link #matmul} spreads its rows over all cores with {@link Parallel}.
 *
 * <h2>Notes</h2>
 * <b>Agreement with llama2.c.</b> UltraKV must generate the same text as llama2.c's {@code run.c} for the same
 * model and sampler. Where it costs little, kernels repeat run.c's float arithmetic in its order: the
 * elementwise parts of {@link #rmsnorm}, {@link #rope}, {@link #softmax}, {@link #swiglu}, {@link #add},
 * {@link #axpy} and the attention value sum give bit-identical results (multiplications and additions are kept
 * separate, never fused, since run.c is built without FMA contraction). Sums over long vectors (matmul, dot,
 * attention scores) are vectorised and so add in a different order; they agree to a few ulps, which greedy and
 * sampled decoding of the reference models absorb.
 *
 * <p><b>The canonical order of a sum.</b> Every dot product (decode's matvec, prefill's matmul tiles, attention
 * scores) adds in one order that depends only on the number of elements: lane {@code j} of one vector
 * accumulator takes elements {@code j, j + L, j + 2L, ...} by fused multiply-add, in element order, the last
 * chunk padded with zeros; then {@link #sumLanes} folds the lanes by a fixed tree. Quantized weights are
 * dequantized to floats first, exactly as {@link FloatTensor#copyTo} does. So a result never depends on the
 * address of the weights, on the batch a row is part of, on the thread or on whether the JIT has compiled the
 * loop: prefix caching (a prompt's tail computed without its head) and continuous batching give the logits of a
 * plain run bit for bit. The price is one accumulator per output (decode stays bound by memory bandwidth;
 * prefill tiles reuse each loaded vector four times and stay compute-bound).
 *
 * <p><b>Vector loops.</b> Quantized types read whole 32-element blocks and dequantize inside the vector loop,
 * never into an inflated copy of the tensor; batched matmul dequantizes one tile of rows at a time into a small
 * per-thread buffer and reuses it across the whole batch (see {@link #matmul}).
 */
public final class Kernels {

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
    /** Elements per block of the quantized types (ggml's QK4_0 and QK8_0). */
    static final int QK = 32;

    /** Quantized kernels vectorise when a byte vector has one lane per float lane and divides a half block. */
    static final boolean QUANT_SIMD = B.length() == L && (QK / 2) % L == 0;

    static final ValueLayout.OfFloat F32_LE = ValueLayout.JAVA_FLOAT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfShort I16_LE = ValueLayout.JAVA_SHORT_UNALIGNED.withOrder(ByteOrder.LITTLE_ENDIAN);
    static final ValueLayout.OfByte I8 = ValueLayout.JAVA_BYTE;
    private static final ByteOrder LE = ByteOrder.LITTLE_ENDIAN;

    /**
     * Multiply-adds below which a matmul runs on the calling thread: handing work to another core costs a few
     * microseconds, about what one core needs for this much work (the 260K model's 64x64 matrices stay inline).
     */
    static final int PARALLEL_MIN_MACS = 1 << 16;
    /** Weight rows per register tile of batched matmul; with {@link #TILE_BATCH}, 24 accumulators. */
    static final int TILE_ROWS = 4;
    /** Tokens per register tile of the row-dot kernel. */
    static final int TILE_BATCH = 6;
    /**
     * Bytes of activations a thread keeps hot while its row tiles pass over them: half of a 1 MiB L2, leaving
     * room for the weight tile and the output. Without blocking, 512 tokens of a dim-768 model (1.5 MiB) stream
     * from L3 once per row tile and the tile waits on them.
     */
    static final int ACTIVATION_BLOCK_BYTES = 512 << 10;

    /** Per-thread buffer for the dequantized rows of one tile. */
    private static final ThreadLocal<float[][]> TILE_SCRATCH = ThreadLocal.withInitial(() -> new float[1][0]);
    /**
     * Per-thread buffer for the packed or padded activations of a batched matmul, kept between calls (512
     * tokens of a dim-4096 model hold 8 MiB in it).
     */
    private static final ThreadLocal<float[][]> BATCH_SCRATCH = ThreadLocal.withInitial(() -> new float[1][0]);

    private Kernels() {
    }

    // ---------------------------------------------------------------------------------------------------------
    // Matrix multiplication
    // ---------------------------------------------------------------------------------------------------------

    /**
     * {@code out[b * rows + r] = Σ_c W[r * cols + c] · x[b * cols + c]} for every row {@code r < rows} and token
     * {@code b < batch}: a matrix-vector product when {@code batch == 1} (decode), a matrix-matrix product for
     * prefill. Rows are split across all cores when the product is large enough to be worth it.
     *
     * <p>With {@code batch == 1} each row is one {@link FloatTensor#dot} that reads the weights once, in their
     * own type: decode is bound by memory bandwidth. With {@code batch > 1} the product is bound by arithmetic:
     * {@value #TILE_ROWS} rows at a time are dequantized into a small per-thread buffer and multiplied against
     * {@value #TILE_BATCH} tokens at a time in registers, so each weight vector loaded serves
     * {@value #TILE_BATCH} tokens and each activation vector {@value #TILE_ROWS} rows.
     *
     * <p>Every element of {@code out} is summed in the {@linkplain Kernels canonical order}, whatever the batch
     * size, the tile, the thread or the address of the weights: a token's result does not depend on which other
     * tokens share its batch (see the class notes).
     *
     * @param w   at least {@code rows * cols} elements; quantized types need {@code cols} to be whole blocks. A
     *            tensor over a segment confined to one thread is multiplied on the calling thread alone
     * @param x   {@code batch} vectors of {@code cols} floats, one after the other
     * @param out receives {@code batch} vectors of {@code rows} floats
     */
    public static void matmul(FloatTensor w, int rows, int cols, float[] x, int batch, float[] out) {
        Objects.requireNonNull(w, "w");
        if (rows < 0 || cols < 0 || batch < 0) {
            throw new IllegalArgumentException("negative shape: rows=" + rows + ", cols=" + cols + ", batch=" + batch);
        }
        if ((long) rows * cols > w.size()) {
            throw new IllegalArgumentException("matmul of " + rows + "x" + cols + " needs " + (long) rows * cols
                    + " weights; the " + w.type() + " tensor has " + w.size());
        }
        if (cols % w.type().blockSize() != 0) {
            throw new IllegalArgumentException(w.type() + " rows must be whole blocks of " + w.type().blockSize()
                    + " elements; cols=" + cols);
        }
        Objects.checkFromIndexSize(0, (long) batch * cols, x.length);
        Objects.checkFromIndexSize(0, (long) batch * rows, out.length);
        if (rows == 0 || batch == 0) {
            return;
        }
        boolean shareable = Parallel.isShareable(w.segment());
        if (batch == 1) {
            int grain = shareable ? Math.max(1, PARALLEL_MIN_MACS / Math.max(1, cols)) : rows;
            Parallel.forRange(rows, grain, (from, to) -> {
                for (int r = from; r < to; r++) {
                    out[r] = w.dot((long) r * cols, x, 0, cols);
                }
            });
            return;
        }
        matmulRowDots(w, rows, cols, x, batch, out, shareable);
    }

    /** Batched matmul: register tiles of row dot products (see {@link #matmul}). */
    private static void matmulRowDots(FloatTensor w, int rows, int cols, float[] x, int batch, float[] out,
                                      boolean parallel) {
        // Rows and tokens are padded with zeros to whole tiles, and both the weight tile and the activations to a
        // whole number of vectors, so the register tile needs no tails or masks.
        int stride = roundUp(cols, L);
        int paddedBatch = roundUp(batch, TILE_BATCH);
        float[] xs = scratch(BATCH_SCRATCH, paddedBatch * stride);
        for (int b = 0; b < paddedBatch; b++) {
            int from = b * stride;
            if (b < batch) {
                System.arraycopy(x, b * cols, xs, from, cols);
                Arrays.fill(xs, from + cols, from + stride, 0f);
            } else {
                Arrays.fill(xs, from, from + stride, 0f);
            }
        }
        int tiles = (rows + TILE_ROWS - 1) / TILE_ROWS;
        long macsPerTile = (long) TILE_ROWS * cols * batch;
        int grain = parallel ? (int) Math.max(1, PARALLEL_MIN_MACS / Math.max(1, macsPerTile)) : tiles;
        int blockTokens = activationBlockTokens(stride);
        Parallel.forRange(tiles, grain, (from, to) -> {
            float[] ws = scratch(TILE_SCRATCH, TILE_ROWS * stride);
            float[] lanes = new float[TILE_ROWS * TILE_BATCH * L];
            // Token blocks outermost, so that one block of activations stays in L2 while every row tile of the
            // range passes over it; each row tile is dequantized again per block, a small cost beside the FMAs.
            for (int block = 0; block < paddedBatch; block += blockTokens) {
                int blockEnd = Math.min(paddedBatch, block + blockTokens);
                for (int t = from; t < to; t++) {
                    int r0 = t * TILE_ROWS;
                    int valid = Math.min(TILE_ROWS, rows - r0);
                    for (int i = 0; i < TILE_ROWS; i++) {
                        if (i < valid) {
                            w.copyTo((long) (r0 + i) * cols, ws, i * stride, cols);
                            Arrays.fill(ws, i * stride + cols, (i + 1) * stride, 0f);
                        } else {
                            Arrays.fill(ws, i * stride, (i + 1) * stride, 0f);
                        }
                    }
                    for (int b = block; b < blockEnd; b += TILE_BATCH) {
                        tile4x6(ws, xs, stride, b, out, rows, r0, valid, Math.min(TILE_BATCH, batch - b), lanes);
                    }
                }
            }
        });
    }

    /** Tokens per activation block of batched matmul: a multiple of the tile that fills about half of L2. */
    static int activationBlockTokens(int stride) {
        int tokens = ACTIVATION_BLOCK_BYTES / (stride * Float.BYTES);
        return Math.max(TILE_BATCH, tokens / TILE_BATCH * TILE_BATCH);
    }

    /**
     * The register tile: rows {@code r0..r0+3} (of {@code ws}) times tokens {@code b0..b0+5} (of {@code xs}), both
     * {@code stride} floats apart and zero-padded; stores the {@code validRows x validTokens} results. Each
     * accumulator takes the first two folds of {@link #sumLanes} in registers, is parked in {@code lanes} and
     * finished by {@link #foldQuarterLanes}: C2 declines to inline 24 calls of {@link #sumLanes} into a method
     * this large, and a vector passed to a call it does not inline is boxed on the heap. Each weight vector
     * loaded serves six tokens, each activation vector four rows: 10 loads per 24 FMAs, with 24 accumulators,
     * 4 weights and 1 activation in the 32 registers.
     */
    private static void tile4x6(float[] ws, float[] xs, int stride, int b0, float[] out, int rows, int r0,
                                int validRows, int validTokens, float[] lanes) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a02 = z, a03 = z, a04 = z, a05 = z;
        FloatVector a10 = z, a11 = z, a12 = z, a13 = z, a14 = z, a15 = z;
        FloatVector a20 = z, a21 = z, a22 = z, a23 = z, a24 = z, a25 = z;
        FloatVector a30 = z, a31 = z, a32 = z, a33 = z, a34 = z, a35 = z;
        int w1 = stride;
        int w2 = 2 * stride;
        int w3 = 3 * stride;
        int x0 = b0 * stride;
        int x1 = x0 + stride;
        int x2 = x1 + stride;
        int x3 = x2 + stride;
        int x4 = x3 + stride;
        int x5 = x4 + stride;
        for (int c = 0; c < stride; c += L) {
            FloatVector v0 = FloatVector.fromArray(F, ws, c);
            FloatVector v1 = FloatVector.fromArray(F, ws, w1 + c);
            FloatVector v2 = FloatVector.fromArray(F, ws, w2 + c);
            FloatVector v3 = FloatVector.fromArray(F, ws, w3 + c);
            FloatVector u = FloatVector.fromArray(F, xs, x0 + c);
            a00 = v0.fma(u, a00);
            a10 = v1.fma(u, a10);
            a20 = v2.fma(u, a20);
            a30 = v3.fma(u, a30);
            u = FloatVector.fromArray(F, xs, x1 + c);
            a01 = v0.fma(u, a01);
            a11 = v1.fma(u, a11);
            a21 = v2.fma(u, a21);
            a31 = v3.fma(u, a31);
            u = FloatVector.fromArray(F, xs, x2 + c);
            a02 = v0.fma(u, a02);
            a12 = v1.fma(u, a12);
            a22 = v2.fma(u, a22);
            a32 = v3.fma(u, a32);
            u = FloatVector.fromArray(F, xs, x3 + c);
            a03 = v0.fma(u, a03);
            a13 = v1.fma(u, a13);
            a23 = v2.fma(u, a23);
            a33 = v3.fma(u, a33);
            u = FloatVector.fromArray(F, xs, x4 + c);
            a04 = v0.fma(u, a04);
            a14 = v1.fma(u, a14);
            a24 = v2.fma(u, a24);
            a34 = v3.fma(u, a34);
            u = FloatVector.fromArray(F, xs, x5 + c);
            a05 = v0.fma(u, a05);
            a15 = v1.fma(u, a15);
            a25 = v2.fma(u, a25);
            a35 = v3.fma(u, a35);
        }
        a00 = a00.add(a00.rearrange(FOLD_HALF));
        a00 = a00.add(a00.rearrange(FOLD_QUARTER));
        a00.intoArray(lanes, 0 * L);
        a01 = a01.add(a01.rearrange(FOLD_HALF));
        a01 = a01.add(a01.rearrange(FOLD_QUARTER));
        a01.intoArray(lanes, 1 * L);
        a02 = a02.add(a02.rearrange(FOLD_HALF));
        a02 = a02.add(a02.rearrange(FOLD_QUARTER));
        a02.intoArray(lanes, 2 * L);
        a03 = a03.add(a03.rearrange(FOLD_HALF));
        a03 = a03.add(a03.rearrange(FOLD_QUARTER));
        a03.intoArray(lanes, 3 * L);
        a04 = a04.add(a04.rearrange(FOLD_HALF));
        a04 = a04.add(a04.rearrange(FOLD_QUARTER));
        a04.intoArray(lanes, 4 * L);
        a05 = a05.add(a05.rearrange(FOLD_HALF));
        a05 = a05.add(a05.rearrange(FOLD_QUARTER));
        a05.intoArray(lanes, 5 * L);
        a10 = a10.add(a10.rearrange(FOLD_HALF));
        a10 = a10.add(a10.rearrange(FOLD_QUARTER));
        a10.intoArray(lanes, 6 * L);
        a11 = a11.add(a11.rearrange(FOLD_HALF));
        a11 = a11.add(a11.rearrange(FOLD_QUARTER));
        a11.intoArray(lanes, 7 * L);
        a12 = a12.add(a12.rearrange(FOLD_HALF));
        a12 = a12.add(a12.rearrange(FOLD_QUARTER));
        a12.intoArray(lanes, 8 * L);
        a13 = a13.add(a13.rearrange(FOLD_HALF));
        a13 = a13.add(a13.rearrange(FOLD_QUARTER));
        a13.intoArray(lanes, 9 * L);
        a14 = a14.add(a14.rearrange(FOLD_HALF));
        a14 = a14.add(a14.rearrange(FOLD_QUARTER));
        a14.intoArray(lanes, 10 * L);
        a15 = a15.add(a15.rearrange(FOLD_HALF));
        a15 = a15.add(a15.rearrange(FOLD_QUARTER));
        a15.intoArray(lanes, 11 * L);
        a20 = a20.add(a20.rearrange(FOLD_HALF));
        a20 = a20.add(a20.rearrange(FOLD_QUARTER));
        a20.intoArray(lanes, 12 * L);
        a21 = a21.add(a21.rearrange(FOLD_HALF));
        a21 = a21.add(a21.rearrange(FOLD_QUARTER));
        a21.intoArray(lanes, 13 * L);
        a22 = a22.add(a22.rearrange(FOLD_HALF));
        a22 = a22.add(a22.rearrange(FOLD_QUARTER));
        a22.intoArray(lanes, 14 * L);
        a23 = a23.add(a23.rearrange(FOLD_HALF));
        a23 = a23.add(a23.rearrange(FOLD_QUARTER));
        a23.intoArray(lanes, 15 * L);
        a24 = a24.add(a24.rearrange(FOLD_HALF));
        a24 = a24.add(a24.rearrange(FOLD_QUARTER));
        a24.intoArray(lanes, 16 * L);
        a25 = a25.add(a25.rearrange(FOLD_HALF));
        a25 = a25.add(a25.rearrange(FOLD_QUARTER));
        a25.intoArray(lanes, 17 * L);
        a30 = a30.add(a30.rearrange(FOLD_HALF));
        a30 = a30.add(a30.rearrange(FOLD_QUARTER));
        a30.intoArray(lanes, 18 * L);
        a31 = a31.add(a31.rearrange(FOLD_HALF));
        a31 = a31.add(a31.rearrange(FOLD_QUARTER));
        a31.intoArray(lanes, 19 * L);
        a32 = a32.add(a32.rearrange(FOLD_HALF));
        a32 = a32.add(a32.rearrange(FOLD_QUARTER));
        a32.intoArray(lanes, 20 * L);
        a33 = a33.add(a33.rearrange(FOLD_HALF));
        a33 = a33.add(a33.rearrange(FOLD_QUARTER));
        a33.intoArray(lanes, 21 * L);
        a34 = a34.add(a34.rearrange(FOLD_HALF));
        a34 = a34.add(a34.rearrange(FOLD_QUARTER));
        a34.intoArray(lanes, 22 * L);
        a35 = a35.add(a35.rearrange(FOLD_HALF));
        a35 = a35.add(a35.rearrange(FOLD_QUARTER));
        a35.intoArray(lanes, 23 * L);
        for (int i = 0; i < validRows; i++) {
            for (int j = 0; j < validTokens; j++) {
                out[(b0 + j) * rows + r0 + i] = foldQuarterLanes(lanes, (i * TILE_BATCH + j) * L);
            }
        }
    }

    private static float[] scratch(ThreadLocal<float[][]> holder, int size) {
        float[][] box = holder.get();
        if (box[0].length < size) {
            box[0] = new float[size];
        }
        return box[0];
    }

    private static int roundUp(int n, int multiple) {
        return (n + multiple - 1) / multiple * multiple;
    }

    // ---------------------------------------------------------------------------------------------------------
    // Dot products and dequantization of each storage type (called by the tensors)
    // ---------------------------------------------------------------------------------------------------------

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
    private static final VectorShuffle<Float> FOLD_HALF = fold(2);
    private static final VectorShuffle<Float> FOLD_QUARTER = fold(4);
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
    private static VectorMask<Float> tailMask(int n) {
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
    private static float blockScale(MemorySegment w, long blockByte) {
        return Float.float16ToFloat(w.get(I16_LE, blockByte));
    }

    /**
     * Σ W[i]·x[xOffset + i] over {@code blocks} Q8_0 blocks starting at block {@code firstBlock}, in the canonical
     * order: each weight is dequantized to {@code q · scale} exactly as {@link #copyQ8_0} does, then multiplied and
     * added (ggml instead scales each block's sum, which is cheaper but would make decode disagree with prefill).
     */
    static float dotQ8_0(MemorySegment w, long firstBlock, float[] x, int xOffset, int blocks) {
        if (!QUANT_SIMD) {
            return dotScalar(GgmlType.Q8_0, w, firstBlock, x, xOffset, blocks);
        }
        final int blockBytes = GgmlType.Q8_0.blockBytes();
        FloatVector acc = FloatVector.zero(F);
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            FloatVector scale = FloatVector.broadcast(F, blockScale(w, o));
            for (int j = 0; j < QK; j += L) {
                ByteVector q = ByteVector.fromMemorySegment(B, w, o + Short.BYTES + j, LE);
                FloatVector wv = ((FloatVector) q.convertShape(VectorOperators.B2F, F, 0)).mul(scale);
                acc = wv.fma(FloatVector.fromArray(F, x, xOffset + k * QK + j), acc);
            }
        }
        return sumLanes(acc);
    }

    /** Dequantizes {@code blocks} Q8_0 blocks starting at block {@code firstBlock} into {@code dst}. */
    static void copyQ8_0(MemorySegment w, long firstBlock, float[] dst, int dstOffset, int blocks) {
        if (!QUANT_SIMD) {
            copyScalar(GgmlType.Q8_0, w, firstBlock, dst, dstOffset, blocks);
            return;
        }
        final int blockBytes = GgmlType.Q8_0.blockBytes();
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            FloatVector scale = FloatVector.broadcast(F, blockScale(w, o));
            for (int j = 0; j < QK; j += L) {
                ByteVector q = ByteVector.fromMemorySegment(B, w, o + Short.BYTES + j, LE);
                ((FloatVector) q.convertShape(VectorOperators.B2F, F, 0)).mul(scale)
                        .intoArray(dst, dstOffset + k * QK + j);
            }
        }
    }

    /**
     * Σ W[i]·x[xOffset + i] over {@code blocks} Q4_0 blocks starting at block {@code firstBlock}, in the canonical
     * order: weights dequantized to {@code (q - 8) · scale} exactly as {@link #copyQ4_0} does. Nibbles are split
     * in 32-bit lanes, where shifts are native (x86 has no byte shift). The low nibbles (elements 0..15) are
     * multiplied in first, then the high ones (16..31), reading the packed bytes twice: each vector goes straight
     * into the accumulator, since vectors kept in an array are boxed on the heap, one allocation per chunk.
     */
    static float dotQ4_0(MemorySegment w, long firstBlock, float[] x, int xOffset, int blocks) {
        if (!QUANT_SIMD) {
            return dotScalar(GgmlType.Q4_0, w, firstBlock, x, xOffset, blocks);
        }
        final int blockBytes = GgmlType.Q4_0.blockBytes();
        FloatVector eight = FloatVector.broadcast(F, 8f);
        FloatVector acc = FloatVector.zero(F);
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            FloatVector scale = FloatVector.broadcast(F, blockScale(w, o));
            int xo = xOffset + k * QK;
            for (int j = 0; j < QK / 2; j += L) {
                IntVector packed = (IntVector) ByteVector.fromMemorySegment(B, w, o + Short.BYTES + j, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                FloatVector low = ((FloatVector) packed.and(0x0F).convertShape(VectorOperators.I2F, F, 0))
                        .sub(eight).mul(scale);
                acc = low.fma(FloatVector.fromArray(F, x, xo + j), acc);
            }
            for (int j = 0; j < QK / 2; j += L) {
                IntVector packed = (IntVector) ByteVector.fromMemorySegment(B, w, o + Short.BYTES + j, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                FloatVector high = ((FloatVector) packed.lanewise(VectorOperators.LSHR, 4)
                        .convertShape(VectorOperators.I2F, F, 0)).sub(eight).mul(scale);
                acc = high.fma(FloatVector.fromArray(F, x, xo + QK / 2 + j), acc);
            }
        }
        return sumLanes(acc);
    }

    /** Dequantizes {@code blocks} Q4_0 blocks starting at block {@code firstBlock} into {@code dst}. */
    static void copyQ4_0(MemorySegment w, long firstBlock, float[] dst, int dstOffset, int blocks) {
        if (!QUANT_SIMD) {
            copyScalar(GgmlType.Q4_0, w, firstBlock, dst, dstOffset, blocks);
            return;
        }
        final int blockBytes = GgmlType.Q4_0.blockBytes();
        FloatVector eight = FloatVector.broadcast(F, 8f);
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            FloatVector scale = FloatVector.broadcast(F, blockScale(w, o));
            for (int j = 0; j < QK / 2; j += L) {
                IntVector packed = (IntVector) ByteVector.fromMemorySegment(B, w, o + Short.BYTES + j, LE)
                        .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
                ((FloatVector) packed.and(0x0F).convertShape(VectorOperators.I2F, F, 0)).sub(eight).mul(scale)
                        .intoArray(dst, dstOffset + k * QK + j);
                ((FloatVector) packed.lanewise(VectorOperators.LSHR, 4).convertShape(VectorOperators.I2F, F, 0))
                        .sub(eight).mul(scale).intoArray(dst, dstOffset + k * QK + QK / 2 + j);
            }
        }
    }

    /** Fallback for CPUs whose vectors are too narrow for the block kernels: dequantize, then the F32 order. */
    private static float dotScalar(GgmlType type, MemorySegment w, long firstBlock, float[] x, int xOffset,
                                   int blocks) {
        float[] weights = new float[blocks * QK];
        copyScalar(type, w, firstBlock, weights, 0, blocks);
        return dot(weights, 0, x, xOffset, weights.length);
    }

    /** Scalar dequantization of Q8_0 or Q4_0 blocks. */
    private static void copyScalar(GgmlType type, MemorySegment w, long firstBlock, float[] dst, int dstOffset,
                                   int blocks) {
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
                dst[dstOffset + k * QK + j] = q * scale;
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Vector operations on float arrays
    // ---------------------------------------------------------------------------------------------------------

    /** Σ a[aOffset + i]·b[bOffset + i] for {@code i < n}, in the canonical order. */
    public static float dot(float[] a, int aOffset, float[] b, int bOffset, int n) {
        Objects.checkFromIndexSize(aOffset, n, a.length);
        Objects.checkFromIndexSize(bOffset, n, b.length);
        FloatVector acc = FloatVector.zero(F);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            acc = FloatVector.fromArray(F, a, aOffset + i).fma(FloatVector.fromArray(F, b, bOffset + i), acc);
        }
        if (i < n) {
            VectorMask<Float> m = tailMask(n - i);
            acc = FloatVector.fromArray(F, a, aOffset + i, m).fma(FloatVector.fromArray(F, b, bOffset + i, m), acc);
        }
        return sumLanes(acc);
    }

    /**
     * {@code y[yOffset + i] += a · x[xOffset + i]} for {@code i < n}, rounding the product before the sum (no
     * fused multiply-add) as run.c's attention value sum does.
     */
    public static void axpy(float a, float[] x, int xOffset, float[] y, int yOffset, int n) {
        Objects.checkFromIndexSize(xOffset, n, x.length);
        Objects.checkFromIndexSize(yOffset, n, y.length);
        FloatVector va = FloatVector.broadcast(F, a);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            FloatVector.fromArray(F, x, xOffset + i).mul(va).add(FloatVector.fromArray(F, y, yOffset + i))
                    .intoArray(y, yOffset + i);
        }
        for (; i < n; i++) {
            y[yOffset + i] += a * x[xOffset + i];
        }
    }

    /** {@code y[i] += x[i]} for {@code i < n} (the residual connection). */
    public static void add(float[] y, float[] x, int n) {
        Objects.checkFromIndexSize(0, n, y.length);
        Objects.checkFromIndexSize(0, n, x.length);
        int i = 0;
        for (int bound = F.loopBound(n); i < bound; i += L) {
            FloatVector.fromArray(F, y, i).add(FloatVector.fromArray(F, x, i)).intoArray(y, i);
        }
        for (; i < n; i++) {
            y[i] += x[i];
        }
    }

    /**
     * RMS normalisation: {@code out[j] = weight[j] · (x[j] / sqrt(mean(x²) + eps))}, computed as run.c does: the
     * sum of squares in index order, {@code ss = 1 / sqrt(ss / size + eps)}, then {@code weight[j] * (ss * x[j])}.
     * {@code out} may be {@code x} with the same offset.
     *
     * @param weight {@code size} floats from index 0
     */
    public static void rmsnorm(float[] out, int outOffset, float[] x, int xOffset, float[] weight, int size,
                               float eps) {
        Objects.checkFromIndexSize(outOffset, size, out.length);
        Objects.checkFromIndexSize(xOffset, size, x.length);
        Objects.checkFromIndexSize(0, size, weight.length);
        // In index order like run.c (a vectorised sum would round differently); size is at most a few thousand.
        float ss = 0f;
        for (int j = 0; j < size; j++) {
            ss += x[xOffset + j] * x[xOffset + j];
        }
        ss /= size;
        ss += eps;
        ss = 1.0f / (float) Math.sqrt(ss);
        FloatVector vs = FloatVector.broadcast(F, ss);
        int j = 0;
        for (int bound = F.loopBound(size); j < bound; j += L) {
            FloatVector.fromArray(F, weight, j).mul(vs.mul(FloatVector.fromArray(F, x, xOffset + j)))
                    .intoArray(out, outOffset + j);
        }
        for (; j < size; j++) {
            out[outOffset + j] = weight[j] * (ss * x[xOffset + j]);
        }
    }

    /**
     * Rotary position embedding of {@code headCount} heads of {@code headSize} floats from {@code offset}: each
     * adjacent pair {@code (i, i + 1)} of a head ({@code i} even) turns by {@code position · freq}, where
     * {@code freq = 1 / theta^(i / headSize)}, with run.c's float arithmetic ({@code powf}, {@code cosf},
     * {@code sinf} of a float angle). The angles are the same for every head, so they are computed once per call.
     */
    public static void rope(float[] x, int offset, int headCount, int headSize, int position, float theta) {
        if (headSize % 2 != 0) {
            throw new IllegalArgumentException("RoPE rotates pairs; headSize " + headSize + " is odd");
        }
        Objects.checkFromIndexSize(offset, (long) headCount * headSize, x.length);
        int pairs = headSize / 2;
        float[] cos = new float[pairs];
        float[] sin = new float[pairs];
        for (int p = 0; p < pairs; p++) {
            float freq = 1.0f / (float) Math.pow(theta, (2 * p) / (float) headSize);
            float val = position * freq;
            cos[p] = (float) Math.cos(val);
            sin[p] = (float) Math.sin(val);
        }
        for (int h = 0; h < headCount; h++) {
            int base = offset + h * headSize;
            for (int p = 0; p < pairs; p++) {
                int i = base + 2 * p;
                float v0 = x[i];
                float v1 = x[i + 1];
                x[i] = v0 * cos[p] - v1 * sin[p];
                x[i + 1] = v0 * sin[p] + v1 * cos[p];
            }
        }
    }

    /**
     * Softmax of {@code x[offset, offset + size)} in place, as run.c computes it: subtract the maximum, take
     * {@code expf} and sum in index order, then divide each by the sum.
     */
    public static void softmax(float[] x, int offset, int size) {
        Objects.checkFromIndexSize(offset, size, x.length);
        if (size == 0) {
            return;
        }
        float max = x[offset];
        for (int i = 1; i < size; i++) {
            if (x[offset + i] > max) {
                max = x[offset + i];
            }
        }
        float sum = 0f;
        for (int i = 0; i < size; i++) {
            float e = (float) Math.exp(x[offset + i] - max);
            x[offset + i] = e;
            sum += e;
        }
        FloatVector vs = FloatVector.broadcast(F, sum);
        int i = 0;
        for (int bound = F.loopBound(size); i < bound; i += L) {
            FloatVector.fromArray(F, x, offset + i).div(vs).intoArray(x, offset + i);
        }
        for (; i < size; i++) {
            x[offset + i] /= sum;
        }
    }

    /**
     * SwiGLU in place: {@code gate[i] = silu(gate[i]) · up[i]} with {@code silu(v) = v / (1 + e^-v)}, in run.c's
     * float order ({@code v *= 1 / (1 + expf(-v)); v *= up}).
     */
    public static void swiglu(float[] gate, float[] up, int n) {
        swiglu(gate, up, 0, n);
    }

    /** {@link #swiglu(float[], float[], int) SwiGLU} of elements {@code [offset, offset + n)} of both arrays. */
    public static void swiglu(float[] gate, float[] up, int offset, int n) {
        Objects.checkFromIndexSize(offset, n, gate.length);
        Objects.checkFromIndexSize(offset, n, up.length);
        for (int i = offset; i < offset + n; i++) {
            float v = gate[i];
            v *= (1.0f / (1.0f + (float) Math.exp(-v)));
            v *= up[i];
            gate[i] = v;
        }
    }

    // ---------------------------------------------------------------------------------------------------------
    // Attention of one query head
    // ---------------------------------------------------------------------------------------------------------

    /**
     * Attention of one query head over positions {@code [0, length)}: {@code scores[t] = q·k_t / sqrt(headSize)},
     * softmax over the scores, then {@code out = Σ_t scores[t]·v_t}.
     *
     * <p>Key and value {@code t} start at {@code kvOffset + t * stride} in {@code keys} and {@code values}: for a
     * dense per-layer store of {@code positions x kvDim} floats, {@code kvOffset = kvHead * headSize} and
     * {@code stride = kvDim}.
     *
     * @param scores at least {@code length} floats; receives the attention weights
     * @param out    receives {@code headSize} floats at {@code outOffset}
     */
    public static void attention(float[] q, int qOffset, float[] keys, float[] values, int kvOffset, int stride,
                                 int headSize, int length, float[] scores, float[] out, int outOffset) {
        attentionScores(q, qOffset, keys, kvOffset, stride, headSize, length, scores, 0);
        softmax(scores, 0, length);
        Arrays.fill(out, outOffset, outOffset + headSize, 0f);
        attentionValues(scores, 0, values, kvOffset, stride, headSize, length, out, outOffset);
    }

    /**
     * {@link #attention(float[], int, float[], float[], int, int, int, int, float[], float[], int) Attention}
     * over float32 keys and values off heap (little-endian). Offsets and strides count floats, not bytes.
     */
    public static void attention(float[] q, int qOffset, MemorySegment keys, MemorySegment values, long kvOffset,
                                 int stride, int headSize, int length, float[] scores, float[] out, int outOffset) {
        attentionScores(q, qOffset, keys, kvOffset, stride, headSize, length, scores, 0);
        softmax(scores, 0, length);
        Arrays.fill(out, outOffset, outOffset + headSize, 0f);
        attentionValues(scores, 0, values, kvOffset, stride, headSize, length, out, outOffset);
    }

    /**
     * The scaled scores of one query head against {@code length} keys:
     * {@code scores[scoresOffset + t] = q·k_t / sqrt(headSize)}, key {@code t} at {@code keyOffset + t * stride}.
     * A paged cache calls this once per block with the block's offset in {@code scores}.
     */
    public static void attentionScores(float[] q, int qOffset, float[] keys, int keyOffset, int stride,
                                       int headSize, int length, float[] scores, int scoresOffset) {
        Objects.checkFromIndexSize(scoresOffset, length, scores.length);
        float scale = (float) Math.sqrt(headSize);
        for (int t = 0; t < length; t++) {
            scores[scoresOffset + t] = dot(q, qOffset, keys, keyOffset + t * stride, headSize) / scale;
        }
    }

    /**
     * {@link #attentionScores(float[], int, float[], int, int, int, int, float[], int) Scores} against float32
     * keys off heap (little-endian); {@code keyOffset} and {@code stride} count floats.
     */
    public static void attentionScores(float[] q, int qOffset, MemorySegment keys, long keyOffset, int stride,
                                       int headSize, int length, float[] scores, int scoresOffset) {
        Objects.checkFromIndexSize(scoresOffset, length, scores.length);
        Objects.checkFromIndexSize(qOffset, headSize, q.length);
        if (length > 0) {
            Objects.checkFromIndexSize(keyOffset, (long) (length - 1) * stride + headSize,
                    keys.byteSize() / Float.BYTES);
        }
        float scale = (float) Math.sqrt(headSize);
        for (int t = 0; t < length; t++) {
            long byteOffset = (keyOffset + (long) t * stride) * Float.BYTES;
            scores[scoresOffset + t] = dotF32(keys, byteOffset, q, qOffset, headSize) / scale;
        }
    }

    /**
     * Adds the weighted values of one head to {@code out}: {@code out[outOffset + i] += Σ_t weights[t]·v_t[i]},
     * value {@code t} at {@code valueOffset + t * stride}, in run.c's order (position by position, product
     * rounded before the sum). Accumulating lets a paged cache call it once per block.
     */
    public static void attentionValues(float[] weights, int weightsOffset, float[] values, int valueOffset,
                                       int stride, int headSize, int length, float[] out, int outOffset) {
        Objects.checkFromIndexSize(weightsOffset, length, weights.length);
        for (int t = 0; t < length; t++) {
            axpy(weights[weightsOffset + t], values, valueOffset + t * stride, out, outOffset, headSize);
        }
    }

    /**
     * {@link #attentionValues(float[], int, float[], int, int, int, int, float[], int) Weighted values} from
     * float32 values off heap (little-endian); {@code valueOffset} and {@code stride} count floats.
     */
    public static void attentionValues(float[] weights, int weightsOffset, MemorySegment values, long valueOffset,
                                       int stride, int headSize, int length, float[] out, int outOffset) {
        Objects.checkFromIndexSize(weightsOffset, length, weights.length);
        Objects.checkFromIndexSize(outOffset, headSize, out.length);
        if (length > 0) {
            Objects.checkFromIndexSize(valueOffset, (long) (length - 1) * stride + headSize,
                    values.byteSize() / Float.BYTES);
        }
        int bound = F.loopBound(headSize);
        for (int t = 0; t < length; t++) {
            float a = weights[weightsOffset + t];
            FloatVector va = FloatVector.broadcast(F, a);
            long base = (valueOffset + (long) t * stride) * Float.BYTES;
            int i = 0;
            for (; i < bound; i += L) {
                FloatVector.fromMemorySegment(F, values, base + (long) i * Float.BYTES, LE).mul(va)
                        .add(FloatVector.fromArray(F, out, outOffset + i)).intoArray(out, outOffset + i);
            }
            for (; i < headSize; i++) {
                out[outOffset + i] += a * values.get(F32_LE, base + (long) i * Float.BYTES);
            }
        }
    }
}
