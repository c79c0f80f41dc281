package dev.ultrakv.tensor;

/**
 * The tensor element types UltraKV reads and writes, with their GGML type ids as the GGUF spec numbers them.
 *
 * <p>Quantized types store elements in blocks: {@link #blockSize()} elements take {@link #blockBytes()} bytes.
 * Plain types have a block of one element.
 */
public enum GgmlType {
    /** IEEE 754 binary32. */
    F32(0, 1, 4),
    /** IEEE 754 binary16. */
    F16(1, 1, 2),
    /** Blocks of 32: one F16 scale, then 16 bytes of 4-bit values q, each meaning (q - 8) * scale. */
    Q4_0(2, 32, 2 + 16),
    /** Blocks of 32: one F16 scale, then 32 signed bytes q, each meaning q * scale. */
    Q8_0(8, 32, 2 + 32),
    /** bfloat16: the upper half of a binary32. */
    BF16(30, 1, 2);

    private final int id;
    private final int blockSize;
    private final int blockBytes;

    GgmlType(int id, int blockSize, int blockBytes) {
        this.id = id;
        this.blockSize = blockSize;
        this.blockBytes = blockBytes;
    }

    /** The GGML type id written in GGUF tensor infos. */
    public int id() {
        return id;
    }

    /** Elements per block. */
    public int blockSize() {
        return blockSize;
    }

    /** Bytes per block. */
    public int blockBytes() {
        return blockBytes;
    }

    /**
     * Bytes taken by {@code elements} elements of this type.
     *
     * @throws IllegalArgumentException if {@code elements} is not a whole number of blocks
     */
    public long bytesFor(long elements) {
        if (elements % blockSize != 0) {
            throw new IllegalArgumentException(
                    this + " stores elements in blocks of " + blockSize + "; " + elements + " is not a multiple");
        }
        return elements / blockSize * blockBytes;
    }

    /** The type with GGML id {@code id}, or {@code null} when UltraKV does not support it. */
    public static GgmlType fromId(int id) {
        for (GgmlType t : values()) {
            if (t.id == id) {
                return t;
            }
        }
        return null;
    }
}
