package dev.ultrakv.bench.suite;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * This process's resident memory, from Linux's {@code /proc/self/status}: {@code VmRSS} now and {@code VmHWM},
 * its peak. The guide reads a peak from {@code peak_wss}, which exists on Windows only; {@code VmHWM} is Linux's.
 * Elsewhere the figures are 0 and {@link #available()} is false.
 *
 * @param rssBytes  resident set size now
 * @param peakBytes the largest resident set size since the process started or the peak was last reset
 */
public record ProcessMemory(long rssBytes, long peakBytes) {
    private static final Path STATUS = Path.of("/proc/self/status");
    /** Writing this to {@code clear_refs} resets the peak resident set size (Linux 4.0 and later). */
    private static final Path CLEAR_REFS = Path.of("/proc/self/clear_refs");
    private static final String RESET_PEAK = "5";
    private static final long KIB = 1024;

    /** The figures now. */
    public static ProcessMemory read() {
        try {
            long rss = 0;
            long peak = 0;
            for (String line : Files.readAllLines(STATUS)) {
                if (line.startsWith("VmRSS:")) {
                    rss = kib(line) * KIB;
                } else if (line.startsWith("VmHWM:")) {
                    peak = kib(line) * KIB;
                }
            }
            return new ProcessMemory(rss, peak);
        } catch (IOException | RuntimeException e) {
            return new ProcessMemory(0, 0);
        }
    }

    /**
     * Resets the peak to the present resident set size, so that a benchmark's peak is its own.
     *
     * @return whether it was reset; if not, the peak counts from the start of the process
     */
    public static boolean resetPeak() {
        try {
            Files.writeString(CLEAR_REFS, RESET_PEAK);
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** Whether the figures were read (Linux). */
    public boolean available() {
        return rssBytes > 0;
    }

    private static long kib(String line) {
        String[] parts = line.trim().split("\\s+");
        return Long.parseLong(parts[1]);
    }
}
