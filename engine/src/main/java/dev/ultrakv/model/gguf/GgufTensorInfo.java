package dev.ultrakv.model.gguf;

import dev.ultrakv.tensor.GgmlType;

/**
 * One tensor of a GGUF file.
 *
 * @param name   the tensor's name, e.g. {@code blk.0.attn_q.weight}
 * @param shape  the dimensions as GGUF stores them: {@code shape[0]} varies fastest (for a matrix, the
 *               number of columns; {@code shape[1]} is the number of rows)
 * @param type   the element type
 * @param offset byte offset of the data from the start of the file's tensor-data section
 */
public record GgufTensorInfo(String name, long[] shape, GgmlType type, long offset) {

    /** Number of elements: the product of the dimensions. */
    public long elementCount() {
        long n = 1;
        for (long d : shape) {
            n *= d;
        }
        return n;
    }

    /** Bytes of data. */
    public long byteSize() {
        return type.bytesFor(elementCount());
    }
}
