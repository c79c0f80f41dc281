package dev.ultrakv.tokenizer;

import java.util.Arrays;

/** A growable list of token ids, without boxing. */
final class IntList {
    private static final int INITIAL_CAPACITY = 16;
    private int[] values = new int[INITIAL_CAPACITY];
    private int size;

    void add(int value) {
        if (size == values.length) {
            values = Arrays.copyOf(values, size * 2);
        }
        values[size++] = value;
    }

    void addAll(int[] more) {
        for (int v : more) {
            add(v);
        }
    }

    int[] toArray() {
        return Arrays.copyOf(values, size);
    }
}
