package dev.ultrakv.kvcache;

import dev.ultrakv.kvcache.codec.KvCodec;
import dev.ultrakv.kvcache.codec.KvCodecKind;
import dev.ultrakv.kvcache.codec.KvCodecs;

import java.util.Objects;

/**
 * Where the keys and values of one block live inside a {@link BlockPool}'s memory: the byte offset of any
 * (block, layer, key or value, KV head, slot). All layout arithmetic is here, so that the pool, the paged store
 * and later the codecs agree on it.
 *
 * <p>A block holds {@code blockSize} consecutive positions of one sequence, for every layer:
 * <pre>
 * block ─┬─ layer 0 ─┬─ K ─┬─ kv head 0: slot 0 … slot blockSize-1   (headSize floats each)
 *        │           │     ├─ kv head 1: slot 0 … slot blockSize-1
 *        │           │     └─ …                                       padded to 64 bytes
 *        │           └─ V ─ the same
 *        ├─ layer 1 ─ …
 * </pre>
 *
 * <h2>Notes</h2>
 * <b>Head-major inside a layer.</b> Attention reads one KV head of one layer at a time, and different heads run
 * on different cores. Storing each (layer, K or V, KV head) of a block as one contiguous run of
 * {@code blockSize × headSize} floats lets a core stream exactly the bytes it needs (4 KiB per block for
 * {@code headSize} 64), one run per block, with consecutive positions {@link #slotStride()} = {@code headSize}
 * floats apart. A position-major layout ({@code blockSize × kvDim}) would interleave the heads, so each read
 * would be a strided gather through lines partly owned by other heads.
 *
 * <p><b>Codecs.</b> A slot holds one KV head's {@code headSize} values of one position in the block's
 * {@link KvCodec}: float32 ({@code headSize × 4} bytes), float16, or integer codes with their scales. Every slot
 * of a codec has the same size ({@link KvCodec#slotBytes}), so the offsets stay plain arithmetic here, a slot is
 * written as soon as its position is computed, and a block prefix is copied byte for byte.
 */
public final class KvBlockLayout {
    /**
     * Alignment of every block and of every (layer, K or V) region: one cache line, so that no vector load of a
     * region's start splits two lines and the off-heap kernels start their vector body at once.
     */
    public static final int ALIGNMENT_BYTES = 64;

    private final KvLayout layout;
    private final KvCodec codec;
    private final int blockSize;
    /** Bytes of one position of one KV head (float32: {@code headSize × 4}). */
    private final long slotBytes;
    /** Bytes of one KV head's run: {@code blockSize} slots. */
    private final long runBytes;
    /** Bytes of the K (or V) of one layer: {@code kvHeads} runs, padded to {@link #ALIGNMENT_BYTES}. */
    private final long regionBytes;
    /** Bytes of one block: K and V regions of every layer. */
    private final long blockBytes;

    private KvBlockLayout(KvLayout layout, KvCodec codec, int blockSize, long slotBytes) {
        this.layout = layout;
        this.codec = codec;
        this.blockSize = blockSize;
        this.slotBytes = slotBytes;
        this.runBytes = Math.multiplyExact(slotBytes, (long) blockSize);
        this.regionBytes = roundUp(Math.multiplyExact(runBytes, (long) layout.kvHeads()), ALIGNMENT_BYTES);
        this.blockBytes = Math.multiplyExact(regionBytes, 2L * layout.layers());
    }

    /**
     * The float32 layout: keys and values stored as they come from the forward pass.
     *
     * @param blockSize positions per block; a power of two
     * @throws IllegalArgumentException if {@code blockSize} is not a positive power of two
     */
    public static KvBlockLayout float32(KvLayout layout, int blockSize) {
        return of(layout, blockSize, KvCodecs.of(KvCodecKind.F32));
    }

    /**
     * The layout of blocks whose slots are stored in {@code codec}.
     *
     * @param blockSize positions per block; a power of two
     * @throws IllegalArgumentException if {@code blockSize} is not a positive power of two or the codec cannot
     *                                  store heads of the layout's size
     */
    public static KvBlockLayout of(KvLayout layout, int blockSize, KvCodec codec) {
        Objects.requireNonNull(layout, "layout");
        Objects.requireNonNull(codec, "codec");
        checkBlockSize(blockSize);
        return new KvBlockLayout(layout, codec, blockSize, codec.slotBytes(layout.headSize()));
    }

    static void checkBlockSize(int blockSize) {
        if (blockSize <= 0 || Integer.bitCount(blockSize) != 1) {
            throw new IllegalArgumentException("blockSize must be a positive power of two: " + blockSize);
        }
    }

    /** The shape of the keys and values stored. */
    public KvLayout layout() {
        return layout;
    }

    /** How each slot is encoded. */
    public KvCodec codec() {
        return codec;
    }

    /** Positions per block (a power of two). */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes of one block, a multiple of {@link #ALIGNMENT_BYTES}. */
    public long blockBytes() {
        return blockBytes;
    }

    /** Bytes of one position of one KV head. */
    public long slotBytes() {
        return slotBytes;
    }

    /** Bytes of one KV head's {@code blockSize} positions in one layer, K or V: one contiguous run. */
    public long runBytes() {
        return runBytes;
    }

    /** Byte offset, from the pool's start, of the key of {@code kvHead} at {@code slot} of {@code block}. */
    public long keyOffset(int block, int layer, int kvHead, int slot) {
        return regionOffset(block, layer, 0) + kvHead * runBytes + slot * slotBytes;
    }

    /** Byte offset, from the pool's start, of the value of {@code kvHead} at {@code slot} of {@code block}. */
    public long valueOffset(int block, int layer, int kvHead, int slot) {
        return regionOffset(block, layer, 1) + kvHead * runBytes + slot * slotBytes;
    }

    /** Byte offset of the K ({@code kind} 0) or V ({@code kind} 1) region of {@code layer} in {@code block}. */
    private long regionOffset(int block, int layer, int kind) {
        return block * blockBytes + (2L * layer + kind) * regionBytes;
    }

    private static long roundUp(long n, long multiple) {
        return (n + multiple - 1) / multiple * multiple;
    }

    @Override
    public String toString() {
        return codec.kind() + " blocks of " + blockSize + " positions, " + blockBytes + " bytes, " + layout;
    }
}
