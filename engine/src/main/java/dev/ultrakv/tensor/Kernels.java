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
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
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
 * <p><b>Vector loops.</b> Kernels over arbitrary lengths run a scalar head up to an aligned weight address, a
 * vector body and a scalar tail. Quantized types read whole 32-element blocks and dequantize inside the vector
 * loop, never into an inflated copy of the tensor; batched matmul dequantizes one tile of rows at a time into a
 * small per-thread buffer and reuses it across the whole batch (see {@link #matmul}).
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
    /**
     * Fewest tokens for which batched matmul puts tokens in vector lanes: below three vectors' worth the lanes
     * of a token tile would mostly multiply padding, and the row-dot kernel does better.
     */
    static final int LANES_MIN_BATCH = 3 * L;
    /** Weight rows per token-lane register tile: 6 rows x 4 token vectors = 24 accumulators of 32 registers. */
    static final int LANE_ROWS = 6;
    /** Token vectors per token-lane register tile. */
    static final int LANE_VECTORS = 4;
    /** Tokens per token tile: the lanes of {@link #LANE_VECTORS} vectors. */
    static final int LANE_TOKENS = LANE_VECTORS * L;
    /**
     * Bytes of packed activations per cache block of the token-lane kernel: three quarters of a 1 MiB L2 (Zen 4
     * and 5, recent Intel cores), so a block stays in L2 while every row tile of a thread's range passes over it.
     * A dim-768 model fits four token tiles (256 tokens); measured, that beats two, and eight (beyond L2) loses.
     */
    static final int LANE_BLOCK_BYTES = 768 << 10;
    /**
     * Rows whose results are staged before being written, so each token's outputs go out as whole cache lines:
     * written one tile at a time, a token's few floats would land {@code rows} floats from the next token's, in
     * the same L1 set when {@code rows} is a power of two, and thrash it.
     */
    static final int LANE_ROW_GROUP = 8 * LANE_ROWS;
    /** Columns transposed together when packing tokens, so the 16 destination lines stay in L1. */
    private static final int PACK_COLUMNS = 16;
    /** Weight rows per register tile of the row-dot kernel; with {@link #TILE_BATCH}, 16 accumulators. */
    static final int TILE_ROWS = 4;
    /** Tokens per register tile of the row-dot kernel. */
    static final int TILE_BATCH = 4;
    /** Alignment the vector body of F32 kernels starts at: one cache line, so no load splits two lines. */
    private static final int ALIGN_BYTES = 64;

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
     * own type: decode is bound by memory bandwidth. With {@code batch > 1} the product is bound by arithmetic, and
     * a few rows at a time are dequantized into a small per-thread buffer and reused for every token:
     * <ul>
     *   <li>From {@link #LANES_MIN_BATCH} tokens, tokens go in vector lanes: the activations are transposed once
     *       into tiles of {@link #LANE_TOKENS} tokens per column, and a register tile of {@value #LANE_ROWS} rows x
     *       {@value #LANE_VECTORS} token vectors multiplies a broadcast weight by a vector of tokens. Every
     *       instruction is a full-width FMA; no horizontal sums are needed.</li>
     *   <li>Smaller batches use row dots: a register tile of {@value #TILE_ROWS} rows x {@value #TILE_BATCH}
     *       tokens, vectorised along the columns and summed across lanes at the end.</li>
     * </ul>
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
        if (batch >= LANES_MIN_BATCH) {
            matmulTokenLanes(w, rows, cols, x, batch, out, shareable);
        } else {
            matmulRowDots(w, rows, cols, x, batch, out, shareable);
        }
    }

    /** Batched matmul with tokens in vector lanes (see {@link #matmul}). */
    private static void matmulTokenLanes(FloatTensor w, int rows, int cols, float[] x, int batch, float[] out,
                                         boolean parallel) {
        int tokenTiles = (batch + LANE_TOKENS - 1) / LANE_TOKENS;
        int tileFloats = cols * LANE_TOKENS;
        float[] xt = scratch(BATCH_SCRATCH, tokenTiles * tileFloats);
        int blockTiles = laneBlockTiles(cols);
        Parallel.forRange(tokenTiles, parallel ? 1 : tokenTiles, (from, to) -> {
            for (int tile = from; tile < to; tile++) {
                packTokens(x, cols, batch, tile, xt);
            }
        });
        int groups = (rows + LANE_ROW_GROUP - 1) / LANE_ROW_GROUP;
        long macsPerGroup = (long) LANE_ROW_GROUP * cols * batch;
        int grain = parallel ? (int) Math.max(1, PARALLEL_MIN_MACS / Math.max(1, macsPerGroup)) : groups;
        Parallel.forRange(groups, grain, (from, to) -> {
            // Rows of ws past the last valid row keep stale values; their results are never stored.
            float[] ws = scratch(TILE_SCRATCH, LANE_ROWS * cols);
            float[] sums = new float[LANE_ROWS * LANE_TOKENS];
            float[] staged = new float[blockTiles * LANE_TOKENS * LANE_ROW_GROUP];
            for (int block = 0; block < tokenTiles; block += blockTiles) {
                int blockEnd = Math.min(tokenTiles, block + blockTiles);
                int blockFirstToken = block * LANE_TOKENS;
                int blockTokens = Math.min(batch, blockEnd * LANE_TOKENS) - blockFirstToken;
                for (int g = from; g < to; g++) {
                    int g0 = g * LANE_ROW_GROUP;
                    int groupRows = Math.min(LANE_ROW_GROUP, rows - g0);
                    for (int r0 = g0; r0 < g0 + groupRows; r0 += LANE_ROWS) {
                        int validRows = Math.min(LANE_ROWS, g0 + groupRows - r0);
                        for (int i = 0; i < validRows; i++) {
                            w.copyTo((long) (r0 + i) * cols, ws, i * cols, cols);
                        }
                        for (int tile = block; tile < blockEnd; tile++) {
                            tile6x4(ws, cols, xt, tile * tileFloats, sums);
                            int firstToken = tile * LANE_TOKENS;
                            int validTokens = Math.min(LANE_TOKENS, batch - firstToken);
                            int stage = (firstToken - blockFirstToken) * LANE_ROW_GROUP + (r0 - g0);
                            for (int b = 0; b < validTokens; b++) {
                                for (int i = 0; i < validRows; i++) {
                                    staged[stage + b * LANE_ROW_GROUP + i] = sums[i * LANE_TOKENS + b];
                                }
                            }
                        }
                    }
                    for (int b = 0; b < blockTokens; b++) {
                        System.arraycopy(staged, b * LANE_ROW_GROUP, out, (blockFirstToken + b) * rows + g0,
                                groupRows);
                    }
                }
            }
        });
    }

    /** Token tiles per cache block of the token-lane kernel for rows of {@code cols} columns. */
    static int laneBlockTiles(int cols) {
        return Math.max(1, LANE_BLOCK_BYTES / (cols * LANE_TOKENS * Float.BYTES));
    }

    /**
     * Packs token tile {@code tile} of {@code x} into {@code xt}: for each column {@code k}, the tile's
     * {@link #LANE_TOKENS} tokens side by side (zeros past {@code batch}), so one vector load reads one column of
     * {@link #L} tokens.
     */
    private static void packTokens(float[] x, int cols, int batch, int tile, float[] xt) {
        int base = tile * cols * LANE_TOKENS;
        int b0 = tile * LANE_TOKENS;
        for (int k0 = 0; k0 < cols; k0 += PACK_COLUMNS) {
            int k1 = Math.min(cols, k0 + PACK_COLUMNS);
            for (int t = 0; t < LANE_TOKENS; t++) {
                int b = b0 + t;
                if (b < batch) {
                    int src = b * cols;
                    for (int k = k0; k < k1; k++) {
                        xt[base + k * LANE_TOKENS + t] = x[src + k];
                    }
                } else {
                    for (int k = k0; k < k1; k++) {
                        xt[base + k * LANE_TOKENS + t] = 0f;
                    }
                }
            }
        }
    }

    /**
     * The token-lane register tile: rows {@code 0..5} of {@code ws} ({@code cols} floats apart) times the packed
     * token tile at {@code xt[xtOffset]}; row {@code i}, token {@code b} goes to {@code sums[i * LANE_TOKENS + b]}.
     */
    private static void tile6x4(float[] ws, int cols, float[] xt, int xtOffset, float[] sums) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a02 = z, a03 = z;
        FloatVector a10 = z, a11 = z, a12 = z, a13 = z;
        FloatVector a20 = z, a21 = z, a22 = z, a23 = z;
        FloatVector a30 = z, a31 = z, a32 = z, a33 = z;
        FloatVector a40 = z, a41 = z, a42 = z, a43 = z;
        FloatVector a50 = z, a51 = z, a52 = z, a53 = z;
        int w1 = cols;
        int w2 = 2 * cols;
        int w3 = 3 * cols;
        int w4 = 4 * cols;
        int w5 = 5 * cols;
        for (int k = 0; k < cols; k++) {
            int xo = xtOffset + k * LANE_TOKENS;
            FloatVector u0 = FloatVector.fromArray(F, xt, xo);
            FloatVector u1 = FloatVector.fromArray(F, xt, xo + L);
            FloatVector u2 = FloatVector.fromArray(F, xt, xo + 2 * L);
            FloatVector u3 = FloatVector.fromArray(F, xt, xo + 3 * L);
            FloatVector v = FloatVector.broadcast(F, ws[k]);
            a00 = v.fma(u0, a00);
            a01 = v.fma(u1, a01);
            a02 = v.fma(u2, a02);
            a03 = v.fma(u3, a03);
            v = FloatVector.broadcast(F, ws[w1 + k]);
            a10 = v.fma(u0, a10);
            a11 = v.fma(u1, a11);
            a12 = v.fma(u2, a12);
            a13 = v.fma(u3, a13);
            v = FloatVector.broadcast(F, ws[w2 + k]);
            a20 = v.fma(u0, a20);
            a21 = v.fma(u1, a21);
            a22 = v.fma(u2, a22);
            a23 = v.fma(u3, a23);
            v = FloatVector.broadcast(F, ws[w3 + k]);
            a30 = v.fma(u0, a30);
            a31 = v.fma(u1, a31);
            a32 = v.fma(u2, a32);
            a33 = v.fma(u3, a33);
            v = FloatVector.broadcast(F, ws[w4 + k]);
            a40 = v.fma(u0, a40);
            a41 = v.fma(u1, a41);
            a42 = v.fma(u2, a42);
            a43 = v.fma(u3, a43);
            v = FloatVector.broadcast(F, ws[w5 + k]);
            a50 = v.fma(u0, a50);
            a51 = v.fma(u1, a51);
            a52 = v.fma(u2, a52);
            a53 = v.fma(u3, a53);
        }
        a00.intoArray(sums, 0);
        a01.intoArray(sums, L);
        a02.intoArray(sums, 2 * L);
        a03.intoArray(sums, 3 * L);
        a10.intoArray(sums, LANE_TOKENS);
        a11.intoArray(sums, LANE_TOKENS + L);
        a12.intoArray(sums, LANE_TOKENS + 2 * L);
        a13.intoArray(sums, LANE_TOKENS + 3 * L);
        a20.intoArray(sums, 2 * LANE_TOKENS);
        a21.intoArray(sums, 2 * LANE_TOKENS + L);
        a22.intoArray(sums, 2 * LANE_TOKENS + 2 * L);
        a23.intoArray(sums, 2 * LANE_TOKENS + 3 * L);
        a30.intoArray(sums, 3 * LANE_TOKENS);
        a31.intoArray(sums, 3 * LANE_TOKENS + L);
        a32.intoArray(sums, 3 * LANE_TOKENS + 2 * L);
        a33.intoArray(sums, 3 * LANE_TOKENS + 3 * L);
        a40.intoArray(sums, 4 * LANE_TOKENS);
        a41.intoArray(sums, 4 * LANE_TOKENS + L);
        a42.intoArray(sums, 4 * LANE_TOKENS + 2 * L);
        a43.intoArray(sums, 4 * LANE_TOKENS + 3 * L);
        a50.intoArray(sums, 5 * LANE_TOKENS);
        a51.intoArray(sums, 5 * LANE_TOKENS + L);
        a52.intoArray(sums, 5 * LANE_TOKENS + 2 * L);
        a53.intoArray(sums, 5 * LANE_TOKENS + 3 * L);
    }

    /** Batched matmul with row dot products for small batches (see {@link #matmul}). */
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
        Parallel.forRange(tiles, grain, (from, to) -> {
            float[] ws = scratch(TILE_SCRATCH, TILE_ROWS * stride);
            float[] sums = new float[TILE_ROWS * TILE_BATCH];
            // Fewer than LANES_MIN_BATCH tokens: their padded activations stay in L2 for the whole range.
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
                for (int b = 0; b < paddedBatch; b += TILE_BATCH) {
                    tile4x4(ws, xs, stride, b, out, rows, r0, valid, Math.min(TILE_BATCH, batch - b), sums);
                }
            }
        });
    }

    /**
     * The register tile: rows {@code r0..r0+3} (of {@code ws}) times tokens {@code b0..b0+3} (of {@code xs}), both
     * {@code stride} floats apart and zero-padded; stores the {@code validRows x validTokens} results, using
     * {@code sums} (16 floats) on the way.
     */
    private static void tile4x4(float[] ws, float[] xs, int stride, int b0, float[] out, int rows, int r0,
                                int validRows, int validTokens, float[] sums) {
        FloatVector z = FloatVector.zero(F);
        FloatVector a00 = z, a01 = z, a02 = z, a03 = z;
        FloatVector a10 = z, a11 = z, a12 = z, a13 = z;
        FloatVector a20 = z, a21 = z, a22 = z, a23 = z;
        FloatVector a30 = z, a31 = z, a32 = z, a33 = z;
        int w1 = stride;
        int w2 = 2 * stride;
        int w3 = 3 * stride;
        int x0 = b0 * stride;
        int x1 = x0 + stride;
        int x2 = x1 + stride;
        int x3 = x2 + stride;
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
        }
        // Reduced here rather than in a helper taking vectors: a helper the JIT declines to inline would box them.
        sums[0] = a00.reduceLanes(VectorOperators.ADD);
        sums[1] = a01.reduceLanes(VectorOperators.ADD);
        sums[2] = a02.reduceLanes(VectorOperators.ADD);
        sums[3] = a03.reduceLanes(VectorOperators.ADD);
        sums[4] = a10.reduceLanes(VectorOperators.ADD);
        sums[5] = a11.reduceLanes(VectorOperators.ADD);
        sums[6] = a12.reduceLanes(VectorOperators.ADD);
        sums[7] = a13.reduceLanes(VectorOperators.ADD);
        sums[8] = a20.reduceLanes(VectorOperators.ADD);
        sums[9] = a21.reduceLanes(VectorOperators.ADD);
        sums[10] = a22.reduceLanes(VectorOperators.ADD);
        sums[11] = a23.reduceLanes(VectorOperators.ADD);
        sums[12] = a30.reduceLanes(VectorOperators.ADD);
        sums[13] = a31.reduceLanes(VectorOperators.ADD);
        sums[14] = a32.reduceLanes(VectorOperators.ADD);
        sums[15] = a33.reduceLanes(VectorOperators.ADD);
        for (int i = 0; i < validRows; i++) {
            for (int j = 0; j < validTokens; j++) {
                out[(b0 + j) * rows + r0 + i] = sums[i * TILE_BATCH + j];
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

    /** Elements before {@code byteOffset} reaches an {@code align}-byte boundary, at most {@code n}. */
    private static int headElements(MemorySegment w, long byteOffset, int elementBytes, int align, int n) {
        long address = w.address() + byteOffset;
        if (address % elementBytes != 0) {
            return 0;
        }
        long misaligned = address & (align - 1);
        long head = misaligned == 0 ? 0 : (align - misaligned) / elementBytes;
        return (int) Math.min(n, head);
    }

    /** Σ W[i]·x[xOffset + i] over {@code n} float32 weights at {@code byteOffset}. */
    static float dotF32(MemorySegment w, long byteOffset, float[] x, int xOffset, int n) {
        int i = headElements(w, byteOffset, Float.BYTES, ALIGN_BYTES, n);
        float head = 0f;
        for (int j = 0; j < i; j++) {
            head += w.get(F32_LE, byteOffset + (long) j * Float.BYTES) * x[xOffset + j];
        }
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, a1 = z, a2 = z, a3 = z;
        for (; i + 4 * L <= n; i += 4 * L) {
            long o = byteOffset + (long) i * Float.BYTES;
            a0 = FloatVector.fromMemorySegment(F, w, o, LE).fma(FloatVector.fromArray(F, x, xOffset + i), a0);
            a1 = FloatVector.fromMemorySegment(F, w, o + L * 4L, LE)
                    .fma(FloatVector.fromArray(F, x, xOffset + i + L), a1);
            a2 = FloatVector.fromMemorySegment(F, w, o + L * 8L, LE)
                    .fma(FloatVector.fromArray(F, x, xOffset + i + 2 * L), a2);
            a3 = FloatVector.fromMemorySegment(F, w, o + L * 12L, LE)
                    .fma(FloatVector.fromArray(F, x, xOffset + i + 3 * L), a3);
        }
        for (; i + L <= n; i += L) {
            long o = byteOffset + (long) i * Float.BYTES;
            a0 = FloatVector.fromMemorySegment(F, w, o, LE).fma(FloatVector.fromArray(F, x, xOffset + i), a0);
        }
        float sum = head + a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            sum += w.get(F32_LE, byteOffset + (long) i * Float.BYTES) * x[xOffset + i];
        }
        return sum;
    }

    /** Converts {@link #L} bfloat16 values (as raw shorts) to floats. */
    private static FloatVector bf16ToFloat(ShortVector halves) {
        IntVector bits = (IntVector) halves.convertShape(VectorOperators.S2I, I, 0);
        return bits.lanewise(VectorOperators.LSHL, 16).reinterpretAsFloats();
    }

    /**
     * Σ W[i]·x[xOffset + i] over {@code n} float16 weights at {@code byteOffset}, converted in registers by
     * {@link #f16ToFloatForArithmetic}.
     */
    static float dotF16(MemorySegment w, long byteOffset, float[] x, int xOffset, int n) {
        int i = headElements(w, byteOffset, Short.BYTES, S.vectorByteSize(), n);
        float head = 0f;
        for (int j = 0; j < i; j++) {
            head += Float.float16ToFloat(w.get(I16_LE, byteOffset + 2L * j)) * x[xOffset + j];
        }
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        for (; i + 2 * L <= n; i += 2 * L) {
            long o = byteOffset + 2L * i;
            FloatVector w0 = f16ToFloatForArithmetic(ShortVector.fromMemorySegment(S, w, o, LE));
            FloatVector w1 = f16ToFloatForArithmetic(ShortVector.fromMemorySegment(S, w, o + 2L * L, LE));
            a0 = w0.fma(FloatVector.fromArray(F, x, xOffset + i), a0);
            a1 = w1.fma(FloatVector.fromArray(F, x, xOffset + i + L), a1);
        }
        for (; i + L <= n; i += L) {
            FloatVector w0 = f16ToFloatForArithmetic(ShortVector.fromMemorySegment(S, w, byteOffset + 2L * i, LE));
            a0 = w0.fma(FloatVector.fromArray(F, x, xOffset + i), a0);
        }
        float sum = head + a0.add(a1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            sum += Float.float16ToFloat(w.get(I16_LE, byteOffset + 2L * i)) * x[xOffset + i];
        }
        return sum;
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

    /** Σ W[i]·x[xOffset + i] over {@code n} bfloat16 weights at {@code byteOffset}. */
    static float dotBF16(MemorySegment w, long byteOffset, float[] x, int xOffset, int n) {
        int i = headElements(w, byteOffset, Short.BYTES, S.vectorByteSize(), n);
        float head = 0f;
        for (int j = 0; j < i; j++) {
            head += Float.intBitsToFloat(w.get(I16_LE, byteOffset + 2L * j) << 16) * x[xOffset + j];
        }
        FloatVector a0 = FloatVector.zero(F), a1 = FloatVector.zero(F);
        for (; i + 2 * L <= n; i += 2 * L) {
            long o = byteOffset + 2L * i;
            FloatVector w0 = bf16ToFloat(ShortVector.fromMemorySegment(S, w, o, LE));
            FloatVector w1 = bf16ToFloat(ShortVector.fromMemorySegment(S, w, o + 2L * L, LE));
            a0 = w0.fma(FloatVector.fromArray(F, x, xOffset + i), a0);
            a1 = w1.fma(FloatVector.fromArray(F, x, xOffset + i + L), a1);
        }
        for (; i + L <= n; i += L) {
            FloatVector w0 = bf16ToFloat(ShortVector.fromMemorySegment(S, w, byteOffset + 2L * i, LE));
            a0 = w0.fma(FloatVector.fromArray(F, x, xOffset + i), a0);
        }
        float sum = head + a0.add(a1).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            sum += Float.intBitsToFloat(w.get(I16_LE, byteOffset + 2L * i) << 16) * x[xOffset + i];
        }
        return sum;
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

    /** Σ W[i]·x[xOffset + i] over {@code blocks} Q8_0 blocks starting at block {@code firstBlock}. */
    static float dotQ8_0(MemorySegment w, long firstBlock, float[] x, int xOffset, int blocks) {
        if (!QUANT_SIMD) {
            return dotScalar(GgmlType.Q8_0, w, firstBlock, x, xOffset, blocks);
        }
        final int blockBytes = GgmlType.Q8_0.blockBytes();
        FloatVector acc0 = FloatVector.zero(F), acc1 = FloatVector.zero(F);
        int k = 0;
        for (; k + 1 < blocks; k += 2) {
            long o = (firstBlock + k) * blockBytes;
            acc0 = q8Block(w, o, x, xOffset + k * QK).fma(FloatVector.broadcast(F, blockScale(w, o)), acc0);
            long o1 = o + blockBytes;
            acc1 = q8Block(w, o1, x, xOffset + (k + 1) * QK).fma(FloatVector.broadcast(F, blockScale(w, o1)), acc1);
        }
        if (k < blocks) {
            long o = (firstBlock + k) * blockBytes;
            acc0 = q8Block(w, o, x, xOffset + k * QK).fma(FloatVector.broadcast(F, blockScale(w, o)), acc0);
        }
        return acc0.add(acc1).reduceLanes(VectorOperators.ADD);
    }

    /** Lanewise Σ q·x over one Q8_0 block at {@code blockByte} (not yet scaled). */
    private static FloatVector q8Block(MemorySegment w, long blockByte, float[] x, int xOffset) {
        FloatVector sum = FloatVector.zero(F);
        for (int j = 0; j < QK; j += L) {
            ByteVector q = ByteVector.fromMemorySegment(B, w, blockByte + Short.BYTES + j, LE);
            FloatVector qf = (FloatVector) q.convertShape(VectorOperators.B2F, F, 0);
            sum = qf.fma(FloatVector.fromArray(F, x, xOffset + j), sum);
        }
        return sum;
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

    /** Σ W[i]·x[xOffset + i] over {@code blocks} Q4_0 blocks starting at block {@code firstBlock}. */
    static float dotQ4_0(MemorySegment w, long firstBlock, float[] x, int xOffset, int blocks) {
        if (!QUANT_SIMD) {
            return dotScalar(GgmlType.Q4_0, w, firstBlock, x, xOffset, blocks);
        }
        // One accumulator suffices: its FMA chain (one per block) is shorter than the work of a block. Nibbles
        // are split in 32-bit lanes, where shifts are native (x86 has no byte shift); measured 25% faster than
        // splitting them as bytes.
        final int blockBytes = GgmlType.Q4_0.blockBytes();
        FloatVector eight = FloatVector.broadcast(F, 8f);
        FloatVector acc = FloatVector.zero(F);
        for (int k = 0; k < blocks; k++) {
            long o = (firstBlock + k) * blockBytes;
            int xo = xOffset + k * QK;
            FloatVector sum = q4Chunk(w, o, 0, x, xo, eight);
            for (int j = L; j < QK / 2; j += L) {
                sum = sum.add(q4Chunk(w, o, j, x, xo, eight));
            }
            acc = sum.fma(FloatVector.broadcast(F, blockScale(w, o)), acc);
        }
        return acc.reduceLanes(VectorOperators.ADD);
    }

    /**
     * Lanewise Σ (q - 8)·x over packed bytes {@code j .. j + L} of the Q4_0 block at byte {@code o}: their low
     * nibbles are elements {@code j ..}, their high nibbles elements {@code 16 + j ..}.
     */
    private static FloatVector q4Chunk(MemorySegment w, long o, int j, float[] x, int xo, FloatVector eight) {
        IntVector packed = (IntVector) ByteVector.fromMemorySegment(B, w, o + Short.BYTES + j, LE)
                .convertShape(VectorOperators.ZERO_EXTEND_B2I, I, 0);
        FloatVector lo = ((FloatVector) packed.and(0x0F).convertShape(VectorOperators.I2F, F, 0)).sub(eight);
        FloatVector hi = ((FloatVector) packed.lanewise(VectorOperators.LSHR, 4)
                .convertShape(VectorOperators.I2F, F, 0)).sub(eight);
        return hi.fma(FloatVector.fromArray(F, x, xo + QK / 2 + j), lo.mul(FloatVector.fromArray(F, x, xo + j)));
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

    /** Scalar fallback for CPUs whose vectors are too narrow for the block kernels. */
    private static float dotScalar(GgmlType type, MemorySegment w, long firstBlock, float[] x, int xOffset,
                                   int blocks) {
        float[] block = new float[QK];
        float sum = 0f;
        for (int k = 0; k < blocks; k++) {
            copyScalar(type, w, firstBlock + k, block, 0, 1);
            for (int j = 0; j < QK; j++) {
                sum += block[j] * x[xOffset + k * QK + j];
            }
        }
        return sum;
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

    /** Σ a[aOffset + i]·b[bOffset + i] for {@code i < n}. */
    public static float dot(float[] a, int aOffset, float[] b, int bOffset, int n) {
        Objects.checkFromIndexSize(aOffset, n, a.length);
        Objects.checkFromIndexSize(bOffset, n, b.length);
        int i = 0;
        FloatVector z = FloatVector.zero(F);
        FloatVector a0 = z, a1 = z, a2 = z, a3 = z;
        for (; i + 4 * L <= n; i += 4 * L) {
            a0 = FloatVector.fromArray(F, a, aOffset + i).fma(FloatVector.fromArray(F, b, bOffset + i), a0);
            a1 = FloatVector.fromArray(F, a, aOffset + i + L)
                    .fma(FloatVector.fromArray(F, b, bOffset + i + L), a1);
            a2 = FloatVector.fromArray(F, a, aOffset + i + 2 * L)
                    .fma(FloatVector.fromArray(F, b, bOffset + i + 2 * L), a2);
            a3 = FloatVector.fromArray(F, a, aOffset + i + 3 * L)
                    .fma(FloatVector.fromArray(F, b, bOffset + i + 3 * L), a3);
        }
        for (; i + L <= n; i += L) {
            a0 = FloatVector.fromArray(F, a, aOffset + i).fma(FloatVector.fromArray(F, b, bOffset + i), a0);
        }
        float sum = a0.add(a1).add(a2.add(a3)).reduceLanes(VectorOperators.ADD);
        for (; i < n; i++) {
            sum += a[aOffset + i] * b[bOffset + i];
        }
        return sum;
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
        Objects.checkFromIndexSize(0, n, gate.length);
        Objects.checkFromIndexSize(0, n, up.length);
        for (int i = 0; i < n; i++) {
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
