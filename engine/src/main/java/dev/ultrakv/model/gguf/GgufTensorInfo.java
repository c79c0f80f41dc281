package dev.ultrakv.model.gguf;

import dev.ultrakv.tensor.GgmlType;

import java.util.Arrays;
import java.util.Objects;

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

    /** Copies the shape so that the record stays immutable. */
    public GgufTensorInfo {
        shape = shape.clone();
    }

    /** The dimensions (a copy). */
    @Override
    public long[] shape() {
        return shape.clone();
    }

    /** Equal when name, shape (by content), type and offset are equal. */
    @Override
    public boolean equals(Object o) {
        return o instanceof GgufTensorInfo t && name.equals(t.name) && Arrays.equals(shape, t.shape)
                && type == t.type && offset == t.offset;
    }

    @Override
    public int hashCode() {
        return Objects.hash(name, Arrays.hashCode(shape), type, offset);
    }

    @Override
    public String toString() {
        return name + Arrays.toString(shape) + " " + type + " @" + offset;
    }

    /** Number of elements: the product of the dimensions. */
    public long elementCount() {
        long n = 1;
        for (long d : this.shape) {
            n *= d;
        }
        return n;
    }

    /** Bytes of data. */
    public long byteSize() {
        return type.bytesFor(elementCount());
    }
}
