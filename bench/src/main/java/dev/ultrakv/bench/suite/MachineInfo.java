package dev.ultrakv.bench.suite;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

/**
 * The machine and software a run was measured on, so that figures are never read without them.
 *
 * @param gitCommit   the commit of the working directory, or {@code unknown}
 * @param jvm         the JVM's name and version
 * @param os          the operating system and architecture
 * @param cpu         the processor's model name, or {@code unknown}
 * @param cores       processors available to the JVM
 * @param memoryBytes the machine's memory, or 0 when unknown
 * @param loadAverage the one-minute load average when the run began, or -1 when unknown
 */
public record MachineInfo(String gitCommit, String jvm, String os, String cpu, int cores, long memoryBytes,
                          double loadAverage) {
    private static final String UNKNOWN = "unknown";
    /** A commit lookup that takes longer than this is abandoned: the figure is not worth a hung run. */
    private static final long GIT_TIMEOUT_SECONDS = 5;

    /** The figures of this machine and process. */
    public static MachineInfo current() {
        return new MachineInfo(readGitCommit(), System.getProperty("java.vm.name") + " "
                + System.getProperty("java.runtime.version"), System.getProperty("os.name") + " "
                + System.getProperty("os.version") + " " + System.getProperty("os.arch"), readCpu(),
                Runtime.getRuntime().availableProcessors(), readMemoryBytes(),
                java.lang.management.ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
    }

    private static String readGitCommit() {
        try {
            Process git = new ProcessBuilder("git", "rev-parse", "--short=12", "HEAD")
                    .redirectError(ProcessBuilder.Redirect.DISCARD).start();
            String out = new String(git.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            if (git.waitFor(GIT_TIMEOUT_SECONDS, TimeUnit.SECONDS) && git.exitValue() == 0 && !out.isEmpty()) {
                return out;
            }
            git.destroy();
        } catch (IOException e) {
            return UNKNOWN;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        return UNKNOWN;
    }

    private static String readCpu() {
        return field(Path.of("/proc/cpuinfo"), "model name").orElse(UNKNOWN);
    }

    private static long readMemoryBytes() {
        return field(Path.of("/proc/meminfo"), "MemTotal")
                .map(v -> Long.parseLong(v.replace("kB", "").trim()) * 1024).orElse(0L);
    }

    private static java.util.Optional<String> field(Path file, String name) {
        try {
            for (String line : Files.readAllLines(file)) {
                int colon = line.indexOf(':');
                if (colon > 0 && line.substring(0, colon).trim().equals(name)) {
                    return java.util.Optional.of(line.substring(colon + 1).trim());
                }
            }
        } catch (IOException | RuntimeException e) {
            return java.util.Optional.empty();
        }
        return java.util.Optional.empty();
    }
}
