package dev.ultrakv;

/**
 * How urgent a request is: the engine serves lower values first, and requests of equal priority in the order
 * they were submitted.
 */
public enum Priority {
    /** 0: served before everything else. */
    CRITICAL,
    /** 1. */
    HIGH,
    /** 2: the default. */
    NORMAL,
    /** 3. */
    LOW,
    /** 4: served when nothing else waits. */
    BACKGROUND;

    private static final Priority[] VALUES = values();

    /** The numeric value, 0 ({@link #CRITICAL}) to 4 ({@link #BACKGROUND}). */
    public int value() {
        return ordinal();
    }

    /**
     * The priority of numeric value {@code value}.
     *
     * @throws IllegalArgumentException naming the value if it is not 0 to 4
     */
    public static Priority of(int value) {
        if (value < 0 || value >= VALUES.length) {
            throw new IllegalArgumentException("unknown priority " + value + "; priorities are 0 (CRITICAL) to "
                    + (VALUES.length - 1) + " (BACKGROUND)");
        }
        return VALUES[value];
    }
}
