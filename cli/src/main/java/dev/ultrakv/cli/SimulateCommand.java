package dev.ultrakv.cli;

import dev.ultrakv.bench.suite.SimulationChart;
import dev.ultrakv.kvcache.policy.PolicyKind;
import dev.ultrakv.sim.Capacity;
import dev.ultrakv.sim.MooncakeTrace;
import dev.ultrakv.sim.SimulationReport;
import dev.ultrakv.sim.Simulator;
import dev.ultrakv.sim.Workload;
import dev.ultrakv.sim.Workloads;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code ultrakv simulate}: replays a trace (or the simulator's built-in workloads) through the prefix index with
 * each eviction policy and the offline optimum, at several cache sizes, and prints hit rates and the share of the
 * LRU-to-optimum gap each policy closes.
 */
@Command(name = "simulate", mixinStandardHelpOptions = true,
        description = "Replay a trace or the built-in workloads through each eviction policy and Belady's offline"
                + " optimum; print block, token and full-hit rates, evictions and the LRU-to-optimum gap closed.")
final class SimulateCommand implements Callable<Integer> {
    @Option(names = "--trace", paramLabel = "FILE",
            description = "A trace to replay (default: the built-in workloads and the shipped Mooncake excerpt).")
    Path trace;

    @Option(names = "--format", defaultValue = "mooncake", paramLabel = "FORMAT",
            description = "Format of --trace: mooncake (JSON lines with hash_ids; default).")
    String format;

    @Option(names = "--policies", defaultValue = "lru,lfu,adaptive,optimal", paramLabel = "LIST",
            description = "Policies to replay: lru, lfu, adaptive, optimal (default: ${DEFAULT-VALUE}).")
    String policies;

    @Option(names = "--capacities", defaultValue = "1%,2%,5%,10%,20%", paramLabel = "LIST",
            description = "Cache sizes: percentages of each workload's distinct blocks (5%) or block counts (2000)"
                    + " (default: ${DEFAULT-VALUE}).")
    String capacities;

    @Option(names = "--workloads", paramLabel = "LIST",
            description = "Built-in workloads to replay when there is no --trace (default: all; see docs/policies.md).")
    String workloads;

    @Option(names = "--requests", defaultValue = "" + Workloads.DEFAULT_REQUESTS, paramLabel = "N",
            description = "Requests per built-in workload (default: ${DEFAULT-VALUE}).")
    int requests;

    @Option(names = "--seed", defaultValue = "" + Simulator.DEFAULT_SEED,
            description = "Seed of the built-in workloads (default: ${DEFAULT-VALUE}).")
    long seed;

    @Option(names = "--disk-capacity", paramLabel = "SIZE",
            description = "Also replay each memory size with a disk tier of SIZE behind it (a share of the working"
                    + " set such as 100%%, or blocks), written through and read after memory, as the engine's.")
    String diskCapacity;

    @Option(names = "--json", paramLabel = "FILE", description = "Also write the rows as a JSON array here.")
    Path json;

    @Option(names = "--csv", description = "Print CSV instead of a table.")
    boolean csv;

    @Option(names = "--chart", paramLabel = "FILE.png",
            description = "Also draw token hit rate against cache size per workload as a PNG here.")
    Path chart;

    @Override
    public Integer call() throws IOException {
        List<PolicyKind> kinds = Arrays.stream(policies.split(",")).map(PolicyKind::parse).distinct().toList();
        List<Capacity> sizes = Capacity.parseList(capacities);
        List<Workload> replayed = trace != null ? List.of(readTrace()) : builtIn();
        long start = System.nanoTime();
        Capacity disk = diskCapacity == null ? null : Capacity.parse(diskCapacity);
        SimulationReport report = Simulator.run(replayed, kinds, sizes, disk);
        System.out.print(csv ? report.formatCsv() : report.formatTable());
        if (json != null) {
            write(json, report.formatJson().getBytes(StandardCharsets.UTF_8));
        }
        if (chart != null) {
            write(chart, SimulationChart.png(report.memoryAlone()));
        }
        System.err.printf(Locale.ROOT, "replayed %,d requests through %d policies at %d sizes in %.1f s%n",
                replayed.stream().mapToLong(w -> w.requests().size()).sum(), kinds.size(), sizes.size(),
                (System.nanoTime() - start) / 1e9);
        return 0;
    }

    private Workload readTrace() throws IOException {
        if (!format.equalsIgnoreCase("mooncake")) {
            throw new IllegalArgumentException("unknown --format '" + format + "' (expected mooncake)");
        }
        try {
            return MooncakeTrace.read(trace);
        } catch (NoSuchFileException e) {
            throw new IllegalArgumentException("--trace " + trace + ": no such file", e);
        }
    }

    private List<Workload> builtIn() {
        if (requests <= 0) {
            throw new IllegalArgumentException("--requests must be positive: " + requests);
        }
        List<String> names = workloads == null ? Simulator.BUILT_IN_WORKLOADS
                : Arrays.stream(workloads.split(",")).map(String::trim).toList();
        List<Workload> all = new ArrayList<>();
        for (String name : names) {
            all.add(Simulator.builtIn(name, requests, seed));
        }
        return all;
    }

    private static void write(Path path, byte[] bytes) {
        try {
            Files.write(path, bytes);
        } catch (IOException e) {
            throw new UncheckedIOException(path + ": cannot be written: " + SynthCommand.reason(e), e);
        }
    }
}
