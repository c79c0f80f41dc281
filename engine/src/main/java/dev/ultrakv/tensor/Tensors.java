package dev.ultrakv.tensor;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/** Creates {@link FloatTensor}s over memory holding elements of a {@link GgmlType}. */
public final class Tensors {

    private Tensors() {
    }

    /**
     * A read-only tensor of {@code elements} elements of {@code type} stored little-endian in {@code segment}.
     * The segment is used in place (not copied) and must stay alive as long as the tensor is used.
     *
     * @throws IllegalArgumentException if {@code segment} is not exactly the size that {@code elements} elements of
     *                                  {@code type} take, or a quantized type is given a partial block
     */
    public static FloatTensor wrap(GgmlType type, MemorySegment segment, long elements) {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(segment, "segment");
        if (elements < 0) {
            throw new IllegalArgumentException(type + " tensor: negative element count " + elements);
        }
        if (elements % type.blockSize() != 0) {
            throw new IllegalArgumentException(type + " tensor of " + elements + " elements: " + type
                    + " stores whole blocks of " + type.blockSize() + " elements");
        }
        long bytes = type.bytesFor(elements);
        if (segment.byteSize() != bytes) {
            throw new IllegalArgumentException(type + " tensor of " + elements + " elements needs " + bytes
                    + " bytes, but the segment holds " + segment.byteSize() + " bytes");
        }
        return switch (type) {
            case F32 -> new F32Tensor(segment, elements);
            case F16 -> new F16Tensor(segment, elements);
            case BF16 -> new BF16Tensor(segment, elements);
            case Q8_0 -> new Q8_0Tensor(segment, elements);
            case Q4_0 -> new Q4_0Tensor(segment, elements);
            case Q4_1 -> new Q4_1Tensor(segment, elements);
            case Q5_0 -> new Q5_0Tensor(segment, elements);
            case Q5_1 -> new Q5_1Tensor(segment, elements);
            case Q2_K -> new Q2_KTensor(segment, elements);
            case Q3_K -> new Q3_KTensor(segment, elements);
            case Q4_K -> new Q4_KTensor(segment, elements);
            case Q5_K -> new Q5_KTensor(segment, elements);
            case Q6_K -> new Q6_KTensor(segment, elements);
        };
    }
}
