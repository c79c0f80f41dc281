package dev.ultrakv.tensor;

import static dev.ultrakv.tensor.WeightKernels.F;
import static dev.ultrakv.tensor.WeightKernels.FOLD_HALF;
import static dev.ultrakv.tensor.WeightKernels.FOLD_QUARTER;
import static dev.ultrakv.tensor.WeightKernels.L;
import static dev.ultrakv.tensor.WeightKernels.foldQuarterLanes;

import java.util.Arrays;
import java.util.Objects;

import jdk.incubator.vector.FloatVector;

/**
 * Matrix multiplication over every {@link GgmlType}: the matrix-vector products of decode and the matrix-matrix
 * products of prefill, each output summed in the {@linkplain WeightKernels canonical order}.
 *
 * <p>Stateless and thread-safe; {@link #matmul} spreads its rows over all cores with {@link Parallel}.
 */
public final class Matmul {

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

    private Matmul() {
    }

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
     * <p>Every element of {@code out} is summed in the {@linkplain WeightKernels canonical order}, whatever the
     * batch size, the tile, the thread or the address of the weights: a token's result does not depend on which
     * other tokens share its batch (see the notes of {@link WeightKernels}).
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
        // whole number of vectors, so the register tile needs no tails or masks. Quantized types sum in two chains
        // (WeightKernels.dotTwoChains): their rows and activations are laid out as the even vectors, then the odd
        // ones, and the tile passes over each half, adding the first half's accumulators to the second's before
        // folding them, so that each output takes exactly decode's sum.
        BlockTensor blocks = w instanceof BlockTensor b ? b : null;
        boolean twoChains = blocks != null;
        int stride = roundUp(cols, L);
        int paddedBatch = roundUp(batch, TILE_BATCH);
        float[] xs = scratch(BATCH_SCRATCH, paddedBatch * stride);
        for (int b = 0; b < paddedBatch; b++) {
            int from = b * stride;
            if (b >= batch) {
                Arrays.fill(xs, from, from + stride, 0f);
            } else if (twoChains) {
                WeightKernels.splitChains(x, b * cols, xs, from, cols);
            } else {
                System.arraycopy(x, b * cols, xs, from, cols);
                Arrays.fill(xs, from + cols, from + stride, 0f);
            }
        }
        int tiles = (rows + TILE_ROWS - 1) / TILE_ROWS;
        long macsPerTile = (long) TILE_ROWS * cols * batch;
        int grain = parallel ? (int) Math.max(1, PARALLEL_MIN_MACS / Math.max(1, macsPerTile)) : tiles;
        int blockTokens = activationBlockTokens(stride);
        Parallel.forRange(tiles, grain, (from, to) -> {
            float[] ws = scratch(TILE_SCRATCH, TILE_ROWS * stride);
            float[] lanes = new float[TILE_ROWS * TILE_BATCH * L];
            float[] kept = twoChains ? new float[TILE_ROWS * TILE_BATCH * L] : null;
            // Token blocks outermost, so that one block of activations stays in L2 while every row tile of the
            // range passes over it; each row tile is dequantized again per block, a small cost beside the FMAs.
            for (int block = 0; block < paddedBatch; block += blockTokens) {
                int blockEnd = Math.min(paddedBatch, block + blockTokens);
                for (int t = from; t < to; t++) {
                    int r0 = t * TILE_ROWS;
                    int valid = Math.min(TILE_ROWS, rows - r0);
                    for (int i = 0; i < TILE_ROWS; i++) {
                        if (i >= valid) {
                            Arrays.fill(ws, i * stride, (i + 1) * stride, 0f);
                        } else if (twoChains) {
                            blocks.copyToTwoChains((long) (r0 + i) * cols, ws, i * stride, cols);
                        } else {
                            w.copyTo((long) (r0 + i) * cols, ws, i * stride, cols);
                            Arrays.fill(ws, i * stride + cols, (i + 1) * stride, 0f);
                        }
                    }
                    for (int b = block; b < blockEnd; b += TILE_BATCH) {
                        tile4x6(ws, xs, stride, b, out, rows, r0, valid, Math.min(TILE_BATCH, batch - b), lanes,
                                twoChains, kept);
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
     * accumulator takes the first two folds of {@link WeightKernels#sumLanes} in registers, is parked in
     * {@code lanes} and finished by {@link WeightKernels#foldQuarterLanes}: C2 declines to inline 24 calls of
     * {@link WeightKernels#sumLanes} into a method this large, and a vector passed to a call it does not inline is
     * boxed on the heap. Each weight vector loaded serves six tokens, each activation vector four rows: 10 loads
     * per 24 FMAs, with 24 accumulators, 4 weights and 1 activation in the 32 registers.
     *
     * <p>With {@code twoChains} (the quantized types) each output is summed in the two chains of {@link
     * WeightKernels#dotTwoChains}, as their decode sums it: the rows and activations are laid out as the even
     * vectors, then the odd ones ({@link WeightKernels#splitChains}); the first pass sums the even half and parks
     * its accumulators in {@code kept}, the second sums the odd half from zero and adds them back lane by lane
     * before the folds.
     */
    private static void tile4x6(float[] ws, float[] xs, int stride, int b0, float[] out, int rows, int r0,
                                int validRows, int validTokens, float[] lanes, boolean twoChains, float[] kept) {
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
        int passes = twoChains ? 2 : 1;
        int length = stride / passes;
        for (int pass = 0; pass < passes; pass++) {
            for (int c = pass * length, end = c + length; c < end; c += L) {
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
            if (pass + 1 < passes) {
                a00.intoArray(kept, 0 * L);
                a00 = z;
                a01.intoArray(kept, 1 * L);
                a01 = z;
                a02.intoArray(kept, 2 * L);
                a02 = z;
                a03.intoArray(kept, 3 * L);
                a03 = z;
                a04.intoArray(kept, 4 * L);
                a04 = z;
                a05.intoArray(kept, 5 * L);
                a05 = z;
                a10.intoArray(kept, 6 * L);
                a10 = z;
                a11.intoArray(kept, 7 * L);
                a11 = z;
                a12.intoArray(kept, 8 * L);
                a12 = z;
                a13.intoArray(kept, 9 * L);
                a13 = z;
                a14.intoArray(kept, 10 * L);
                a14 = z;
                a15.intoArray(kept, 11 * L);
                a15 = z;
                a20.intoArray(kept, 12 * L);
                a20 = z;
                a21.intoArray(kept, 13 * L);
                a21 = z;
                a22.intoArray(kept, 14 * L);
                a22 = z;
                a23.intoArray(kept, 15 * L);
                a23 = z;
                a24.intoArray(kept, 16 * L);
                a24 = z;
                a25.intoArray(kept, 17 * L);
                a25 = z;
                a30.intoArray(kept, 18 * L);
                a30 = z;
                a31.intoArray(kept, 19 * L);
                a31 = z;
                a32.intoArray(kept, 20 * L);
                a32 = z;
                a33.intoArray(kept, 21 * L);
                a33 = z;
                a34.intoArray(kept, 22 * L);
                a34 = z;
                a35.intoArray(kept, 23 * L);
                a35 = z;
            }
        }
        if (twoChains) {
            a00 = FloatVector.fromArray(F, kept, 0 * L).add(a00);
            a01 = FloatVector.fromArray(F, kept, 1 * L).add(a01);
            a02 = FloatVector.fromArray(F, kept, 2 * L).add(a02);
            a03 = FloatVector.fromArray(F, kept, 3 * L).add(a03);
            a04 = FloatVector.fromArray(F, kept, 4 * L).add(a04);
            a05 = FloatVector.fromArray(F, kept, 5 * L).add(a05);
            a10 = FloatVector.fromArray(F, kept, 6 * L).add(a10);
            a11 = FloatVector.fromArray(F, kept, 7 * L).add(a11);
            a12 = FloatVector.fromArray(F, kept, 8 * L).add(a12);
            a13 = FloatVector.fromArray(F, kept, 9 * L).add(a13);
            a14 = FloatVector.fromArray(F, kept, 10 * L).add(a14);
            a15 = FloatVector.fromArray(F, kept, 11 * L).add(a15);
            a20 = FloatVector.fromArray(F, kept, 12 * L).add(a20);
            a21 = FloatVector.fromArray(F, kept, 13 * L).add(a21);
            a22 = FloatVector.fromArray(F, kept, 14 * L).add(a22);
            a23 = FloatVector.fromArray(F, kept, 15 * L).add(a23);
            a24 = FloatVector.fromArray(F, kept, 16 * L).add(a24);
            a25 = FloatVector.fromArray(F, kept, 17 * L).add(a25);
            a30 = FloatVector.fromArray(F, kept, 18 * L).add(a30);
            a31 = FloatVector.fromArray(F, kept, 19 * L).add(a31);
            a32 = FloatVector.fromArray(F, kept, 20 * L).add(a32);
            a33 = FloatVector.fromArray(F, kept, 21 * L).add(a33);
            a34 = FloatVector.fromArray(F, kept, 22 * L).add(a34);
            a35 = FloatVector.fromArray(F, kept, 23 * L).add(a35);
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
}
