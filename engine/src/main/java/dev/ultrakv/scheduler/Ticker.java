package dev.ultrakv.scheduler;

/**
 * A source of nanosecond time for the scheduler and the engine: request ages, deadlines and latencies. Tests
 * inject one they move by hand, so that ageing and deadlines are checked without waiting (Caffeine's Ticker).
 */
@FunctionalInterface
public interface Ticker {

    /** Nanoseconds from an arbitrary origin; only differences between readings mean anything. */
    long read();

    /** {@link System#nanoTime()}. */
    static Ticker system() {
        return System::nanoTime;
    }
}
