package dev.ultrakv.kvcache.policy;

/** The one-line consistency check that every policy's {@code checkInvariants} uses. */
final class Invariants {

    private Invariants() {
    }

    /** Throws {@link IllegalStateException} with the formatted message unless {@code condition} holds. */
    static void check(boolean condition, String format, Object... arguments) {
        if (!condition) {
            throw new IllegalStateException(String.format(format, arguments));
        }
    }
}
