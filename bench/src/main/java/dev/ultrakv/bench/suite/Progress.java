package dev.ultrakv.bench.suite;

import java.io.PrintStream;
import java.util.Locale;

/**
 * A progress bar on the terminal for one step of a long run: {@code [#######.....]  58%  throughput c=100
 * 5800/10000  12.4 s}. Redrawn in place at most {@value #REDRAW_MILLIS} ms apart on a terminal; where the output
 * is a file or a pipe, only a line when the step ends, so that logs stay readable. Thread-safe.
 */
public final class Progress {
    /** Redraws further apart than a person can follow would only cost time. */
    static final long REDRAW_MILLIS = 200;
    /** Characters of the bar. */
    static final int WIDTH = 30;

    private final PrintStream out;
    private final boolean terminal;
    private String label = "";
    private long total;
    private long done;
    private long started;
    private long lastDrawn;

    /**
     * A progress bar writing to {@code out}.
     *
     * @param terminal whether {@code out} is a terminal, where the bar is redrawn in place
     */
    public Progress(PrintStream out, boolean terminal) {
        this.out = out;
        this.terminal = terminal;
    }

    /** A progress bar on standard error, redrawn in place when it is a terminal. */
    public static Progress onStandardError() {
        var console = System.console();
        return new Progress(System.err, console != null && console.isTerminal());
    }

    /** A progress bar that shows nothing (tests). */
    public static Progress silent() {
        return new Progress(new PrintStream(PrintStream.nullOutputStream()), false);
    }

    /** Begins a step of {@code total} units. */
    public synchronized void begin(String label, long total) {
        this.label = label;
        this.total = Math.max(1, total);
        this.done = 0;
        this.started = System.nanoTime();
        this.lastDrawn = 0;
        if (terminal) {
            draw();
        }
    }

    /** Counts {@code units} more done. */
    public synchronized void advance(long units) {
        done = Math.min(total, done + units);
        long now = System.nanoTime();
        if (terminal && now - lastDrawn >= REDRAW_MILLIS * 1_000_000) {
            lastDrawn = now;
            draw();
        }
    }

    /** Ends the step with a line that stays. */
    public synchronized void end() {
        done = total;
        if (terminal) {
            draw();
            out.println();
        } else {
            out.println(line());
        }
        out.flush();
    }

    private void draw() {
        out.print("\r" + line() + "   ");
        out.flush();
    }

    private String line() {
        int filled = (int) (WIDTH * done / total);
        double seconds = (System.nanoTime() - started) / 1e9;
        return String.format(Locale.ROOT, "[%s%s] %3d%%  %s  %d/%d  %.1f s", "#".repeat(filled),
                ".".repeat(WIDTH - filled), 100 * done / total, label, done, total, seconds);
    }
}
