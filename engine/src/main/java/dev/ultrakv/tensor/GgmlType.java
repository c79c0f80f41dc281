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
    /** Blocks of 32: F16 scale d and F16 minimum m, then 16 bytes of 4-bit values q, each meaning q * d + m. */
    Q4_1(3, 32, 2 + 2 + 16),
    /** Blocks of 32: F16 scale, 4 bytes of fifth bits, 16 bytes of low nibbles; q of 5 bits means (q - 16) * scale. */
    Q5_0(6, 32, 2 + 4 + 16),
    /** Blocks of 32: F16 scale d and minimum m, 4 bytes of fifth bits, 16 bytes of nibbles; q means q * d + m. */
    Q5_1(7, 32, 2 + 2 + 4 + 16),
    /** Blocks of 32: one F16 scale, then 32 signed bytes q, each meaning q * scale. */
    Q8_0(8, 32, 2 + 32),
    /** Super-blocks of 256: 16 bytes of 4-bit scale and min pairs, 64 bytes of 2-bit q, F16 d and dmin. */
    Q2_K(10, 256, 16 + 64 + 2 + 2),
    /** Super-blocks of 256: 32 bytes of high bits, 64 bytes of 2-bit low q, 12 bytes of 6-bit scales, F16 d. */
    Q3_K(11, 256, 32 + 64 + 12 + 2),
    /** Super-blocks of 256: F16 d and dmin, 12 bytes of 6-bit scales and mins for 8 blocks of 32, 128 of nibbles. */
    Q4_K(12, 256, 2 + 2 + 12 + 128),
    /** Super-blocks of 256: F16 d and dmin, 12 bytes of 6-bit scales and mins, 32 of fifth bits, 128 of nibbles. */
    Q5_K(13, 256, 2 + 2 + 12 + 32 + 128),
    /** Super-blocks of 256: 128 bytes of low nibbles, 64 of 2-bit highs, 16 signed 8-bit scales, F16 d. */
    Q6_K(14, 256, 128 + 64 + 16 + 2),
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
