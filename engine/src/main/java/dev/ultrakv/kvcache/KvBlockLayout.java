package dev.ultrakv.kvcache;

import dev.ultrakv.kvcache.codec.ChannelKeyCodec;
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
 *
 * <p><b>Per-channel keys.</b> INT4 and INT2 caches ({@link #of(KvLayout, int, KvCodecKind)}) store each key run as
 * one unit of a {@link ChannelKeyCodec} (per-channel scales over the block's positions, KIVI) and their values as
 * slots of a zero-centred codec. Such a key run has no slots of its own: {@link #keyRunOffset} locates it,
 * {@link #keyOffset} is refused, and the K region is sized by the run codec, the V region by the slot codec.
 */
public final class KvBlockLayout {
    /**
     * Alignment of every block and of every (layer, K or V) region: one cache line, so that no vector load of a
     * region's start splits two lines and the off-heap kernels start their vector body at once.
     */
    public static final int ALIGNMENT_BYTES = 64;
    /**
     * Largest block: a block is the unit of sharing and eviction, and one of more than a thousand positions would
     * share only prompts that long and hold megabytes per block of a real model (vLLM's largest is 256).
     */
    public static final int MAX_BLOCK_SIZE = 1024;

    private final KvLayout layout;
    /** The slot codec of values, and of keys unless {@link #channelKeys} is set. */
    private final KvCodec codec;
    /** The run codec of keys; null when keys are slots of {@link #codec}. */
    private final ChannelKeyCodec channelKeys;
    private final int blockSize;
    /** Bytes of one position of one KV head (float32: {@code headSize × 4}). */
    private final long slotBytes;
    /** Bytes of one KV head's run of values: {@code blockSize} slots. */
    private final long runBytes;
    /** Bytes of one KV head's run of keys: {@link #runBytes}, or the per-channel codec's run. */
    private final long keyRunBytes;
    /** Bytes of the K of one layer: {@code kvHeads} key runs, padded to {@link #ALIGNMENT_BYTES}. */
    private final long keyRegionBytes;
    /** Bytes of the V of one layer: {@code kvHeads} runs, padded to {@link #ALIGNMENT_BYTES}. */
    private final long valueRegionBytes;
    /** Bytes of one block: K and V regions of every layer. */
    private final long blockBytes;

    private KvBlockLayout(KvLayout layout, KvCodec codec, ChannelKeyCodec channelKeys, int blockSize) {
        this.layout = layout;
        this.codec = codec;
        this.channelKeys = channelKeys;
        this.blockSize = blockSize;
        this.slotBytes = codec.slotBytes(layout.headSize());
        this.runBytes = Math.multiplyExact(slotBytes, (long) blockSize);
        this.keyRunBytes = channelKeys == null ? runBytes : channelKeys.runBytes(layout.headSize(), blockSize);
        this.keyRegionBytes = roundUp(Math.multiplyExact(keyRunBytes, (long) layout.kvHeads()), ALIGNMENT_BYTES);
        this.valueRegionBytes = roundUp(Math.multiplyExact(runBytes, (long) layout.kvHeads()), ALIGNMENT_BYTES);
        this.blockBytes = Math.multiplyExact(keyRegionBytes + valueRegionBytes, (long) layout.layers());
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
        return new KvBlockLayout(layout, codec, null, blockSize);
    }

    /**
     * The layout of a cache of {@code kind}: keys per channel over each block's run for INT4 and INT2, values in
     * {@link KvCodecs#values}; keys and values in the slots of {@link KvCodecs#of} for the others.
     *
     * @param blockSize positions per block; a power of two
     * @throws IllegalArgumentException if {@code blockSize} is not a positive power of two or the codecs cannot
     *                                  store heads of the layout's size
     */
    public static KvBlockLayout of(KvLayout layout, int blockSize, KvCodecKind kind) {
        Objects.requireNonNull(layout, "layout");
        checkBlockSize(blockSize);
        return new KvBlockLayout(layout, KvCodecs.values(kind), KvCodecs.channelKeys(kind), blockSize);
    }

    static void checkBlockSize(int blockSize) {
        if (blockSize <= 0 || Integer.bitCount(blockSize) != 1) {
            throw new IllegalArgumentException("blockSize must be a positive power of two: " + blockSize);
        }
        if (blockSize > MAX_BLOCK_SIZE) {
            throw new IllegalArgumentException("blockSize must be at most " + MAX_BLOCK_SIZE + ": " + blockSize);
        }
    }

    /** The shape of the keys and values stored. */
    public KvLayout layout() {
        return layout;
    }

    /** How each value slot is encoded, and each key slot unless {@link #channelKeys()} is set. */
    public KvCodec codec() {
        return codec;
    }

    /** How each key run is encoded when keys are per channel; null when keys are slots of {@link #codec()}. */
    public ChannelKeyCodec channelKeys() {
        return channelKeys;
    }

    /** Whether keys and values are stored exactly (float32 slots). */
    public boolean isLossless() {
        return channelKeys == null && codec.isLossless();
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

    /** Bytes of one KV head's {@code blockSize} values in one layer: one contiguous run. */
    public long runBytes() {
        return runBytes;
    }

    /** Bytes of one KV head's {@code blockSize} keys in one layer: one contiguous run. */
    public long keyRunBytes() {
        return keyRunBytes;
    }

    /**
     * Byte offset, from the pool's start, of the key of {@code kvHead} at {@code slot} of {@code block}.
     *
     * @throws IllegalStateException if keys are per channel (they have no slots; see {@link #keyRunOffset})
     */
    public long keyOffset(int block, int layer, int kvHead, int slot) {
        if (channelKeys != null) {
            throw new IllegalStateException("keys are stored per channel, in runs of " + blockSize + " positions");
        }
        return keyRunOffset(block, layer, kvHead) + slot * slotBytes;
    }

    /** Byte offset, from the pool's start, of the keys of {@code kvHead} in {@code layer} of {@code block}. */
    public long keyRunOffset(int block, int layer, int kvHead) {
        return layerOffset(block, layer) + kvHead * keyRunBytes;
    }

    /** Byte offset, from the pool's start, of the value of {@code kvHead} at {@code slot} of {@code block}. */
    public long valueOffset(int block, int layer, int kvHead, int slot) {
        return layerOffset(block, layer) + keyRegionBytes + kvHead * runBytes + slot * slotBytes;
    }

    /** Byte offset of the K region of {@code layer} in {@code block}; its V region follows. */
    private long layerOffset(int block, int layer) {
        return block * blockBytes + layer * (keyRegionBytes + valueRegionBytes);
    }

    private static long roundUp(long n, long multiple) {
        return (n + multiple - 1) / multiple * multiple;
    }

    @Override
    public String toString() {
        return codec.kind() + (channelKeys == null ? "" : " (keys per channel)") + " blocks of " + blockSize
                + " positions, " + blockBytes + " bytes, " + layout;
    }
}
