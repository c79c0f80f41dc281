package dev.ultrakv.model.gguf;

import java.util.Arrays;
import java.util.List;
import java.util.Objects;

/**
 * A GGUF metadata value, keeping its exact {@link GgufValueType} so that a file read and written again is
 * byte-identical (a {@code UINT32} stays a {@code UINT32}, not an {@code INT32}).
 *
 * <p>Integers of every width are held as a {@code long}: zero-extended for unsigned types, sign-extended for
 * signed ones, and the raw 64 bits for {@code UINT64} (read it with {@link Long#toUnsignedString(long)}).
 * Arrays hold one element type (nested arrays are not supported, as in llama.cpp) and are stored as primitive
 * arrays; the array records copy their arrays in and out, so values are immutable.
 */
public sealed interface GgufValue {

    /** The type written in the file; {@link GgufValueType#ARRAY} for all arrays. */
    GgufValueType type();

    /** An integer of one of the eight integer types. */
    record Int(GgufValueType type, long value) implements GgufValue {
        /** Checks that {@code type} is an integer type and that {@code value} is in its range. */
        public Int {
            checkInRange(type, value);
        }
    }

    /** A {@link GgufValueType#FLOAT32}. */
    record Float32(float value) implements GgufValue {
        @Override
        public GgufValueType type() {
            return GgufValueType.FLOAT32;
        }
    }

    /** A {@link GgufValueType#FLOAT64}. */
    record Float64(double value) implements GgufValue {
        @Override
        public GgufValueType type() {
            return GgufValueType.FLOAT64;
        }
    }

    /** A {@link GgufValueType#BOOL}. */
    record Bool(boolean value) implements GgufValue {
        @Override
        public GgufValueType type() {
            return GgufValueType.BOOL;
        }
    }

    /** A {@link GgufValueType#STRING}. */
    record Str(String value) implements GgufValue {
        /** Rejects {@code null}. */
        public Str {
            Objects.requireNonNull(value, "value");
        }

        @Override
        public GgufValueType type() {
            return GgufValueType.STRING;
        }
    }

    /** An {@link GgufValueType#ARRAY} of elements of one type. */
    sealed interface Array extends GgufValue {
        /** The type of the elements. */
        GgufValueType elementType();

        /** Number of elements. */
        int size();

        @Override
        default GgufValueType type() {
            return GgufValueType.ARRAY;
        }
    }

    /** An array of integers of one integer type, held as in {@link Int}. */
    record IntArray(GgufValueType elementType, long[] values) implements Array {
        /** Checks the element type and every value's range, and copies {@code values}. */
        public IntArray {
            values = values.clone();
            for (long v : values) {
                checkInRange(elementType, v);
            }
        }

        /** A copy of the values. */
        @Override
        public long[] values() {
            return values.clone();
        }

        /** Element {@code i}. */
        public long get(int i) {
            return values[i];
        }

        @Override
        public int size() {
            return values.length;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof IntArray other && elementType == other.elementType
                    && Arrays.equals(values, other.values);
        }

        @Override
        public int hashCode() {
            return 31 * elementType.hashCode() + Arrays.hashCode(values);
        }

        @Override
        public String toString() {
            return "IntArray[" + elementType + " x " + values.length + "]";
        }
    }

    /** An array of {@link GgufValueType#FLOAT32}. */
    record Float32Array(float[] values) implements Array {
        /** Copies {@code values}. */
        public Float32Array {
            values = values.clone();
        }

        /** A copy of the values. */
        @Override
        public float[] values() {
            return values.clone();
        }

        /** Element {@code i}. */
        public float get(int i) {
            return values[i];
        }

        @Override
        public GgufValueType elementType() {
            return GgufValueType.FLOAT32;
        }

        @Override
        public int size() {
            return values.length;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Float32Array other && Arrays.equals(values, other.values);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(values);
        }

        @Override
        public String toString() {
            return "Float32Array[" + values.length + "]";
        }
    }

    /** An array of {@link GgufValueType#FLOAT64}. */
    record Float64Array(double[] values) implements Array {
        /** Copies {@code values}. */
        public Float64Array {
            values = values.clone();
        }

        /** A copy of the values. */
        @Override
        public double[] values() {
            return values.clone();
        }

        @Override
        public GgufValueType elementType() {
            return GgufValueType.FLOAT64;
        }

        @Override
        public int size() {
            return values.length;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Float64Array other && Arrays.equals(values, other.values);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(values);
        }

        @Override
        public String toString() {
            return "Float64Array[" + values.length + "]";
        }
    }

    /** An array of {@link GgufValueType#BOOL}. */
    record BoolArray(boolean[] values) implements Array {
        /** Copies {@code values}. */
        public BoolArray {
            values = values.clone();
        }

        /** A copy of the values. */
        @Override
        public boolean[] values() {
            return values.clone();
        }

        @Override
        public GgufValueType elementType() {
            return GgufValueType.BOOL;
        }

        @Override
        public int size() {
            return values.length;
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof BoolArray other && Arrays.equals(values, other.values);
        }

        @Override
        public int hashCode() {
            return Arrays.hashCode(values);
        }

        @Override
        public String toString() {
            return "BoolArray[" + values.length + "]";
        }
    }

    /** An array of {@link GgufValueType#STRING}. */
    record StrArray(List<String> values) implements Array {
        /** Copies {@code values} into an unmodifiable list (no {@code null}s). */
        public StrArray {
            values = List.copyOf(values);
        }

        @Override
        public GgufValueType elementType() {
            return GgufValueType.STRING;
        }

        @Override
        public int size() {
            return values.size();
        }

        @Override
        public String toString() {
            return "StrArray[" + values.size() + "]";
        }
    }

    /** A {@link GgufValueType#UINT8}. */
    static Int uint8(int value) {
        return new Int(GgufValueType.UINT8, value);
    }

    /** An {@link GgufValueType#INT8}. */
    static Int int8(int value) {
        return new Int(GgufValueType.INT8, value);
    }

    /** A {@link GgufValueType#UINT16}. */
    static Int uint16(int value) {
        return new Int(GgufValueType.UINT16, value);
    }

    /** An {@link GgufValueType#INT16}. */
    static Int int16(int value) {
        return new Int(GgufValueType.INT16, value);
    }

    /** A {@link GgufValueType#UINT32}, {@code 0 <= value < 2^32}. */
    static Int uint32(long value) {
        return new Int(GgufValueType.UINT32, value);
    }

    /** An {@link GgufValueType#INT32}. */
    static Int int32(int value) {
        return new Int(GgufValueType.INT32, value);
    }

    /** A {@link GgufValueType#UINT64}, given as its 64 raw bits. */
    static Int uint64(long value) {
        return new Int(GgufValueType.UINT64, value);
    }

    /** An {@link GgufValueType#INT64}. */
    static Int int64(long value) {
        return new Int(GgufValueType.INT64, value);
    }

    /** A {@link GgufValueType#FLOAT32}. */
    static Float32 float32(float value) {
        return new Float32(value);
    }

    /** A {@link GgufValueType#FLOAT64}. */
    static Float64 float64(double value) {
        return new Float64(value);
    }

    /** A {@link GgufValueType#BOOL}. */
    static Bool bool(boolean value) {
        return new Bool(value);
    }

    /** A {@link GgufValueType#STRING}. */
    static Str string(String value) {
        return new Str(value);
    }

    /** An array of strings. */
    static StrArray stringArray(List<String> values) {
        return new StrArray(values);
    }

    /** An array of {@link GgufValueType#FLOAT32}. */
    static Float32Array float32Array(float[] values) {
        return new Float32Array(values);
    }

    /** An array of {@link GgufValueType#INT32}. */
    static IntArray int32Array(int[] values) {
        return new IntArray(GgufValueType.INT32, Arrays.stream(values).asLongStream().toArray());
    }

    /**
     * Checks that {@code type} is an integer type and {@code value} is a valid value of it (any 64 bits for
     * {@code UINT64} and {@code INT64}).
     *
     * @throws IllegalArgumentException if not
     */
    private static void checkInRange(GgufValueType type, long value) {
        Objects.requireNonNull(type, "type");
        long min;
        long max;
        switch (type) {
            case UINT8 -> { min = 0; max = 0xFF; }
            case INT8 -> { min = Byte.MIN_VALUE; max = Byte.MAX_VALUE; }
            case UINT16 -> { min = 0; max = 0xFFFF; }
            case INT16 -> { min = Short.MIN_VALUE; max = Short.MAX_VALUE; }
            case UINT32 -> { min = 0; max = 0xFFFF_FFFFL; }
            case INT32 -> { min = Integer.MIN_VALUE; max = Integer.MAX_VALUE; }
            case UINT64, INT64 -> { return; }
            default -> throw new IllegalArgumentException(type + " is not an integer type");
        }
        if (value < min || value > max) {
            throw new IllegalArgumentException(value + " is out of range for " + type);
        }
    }
}
