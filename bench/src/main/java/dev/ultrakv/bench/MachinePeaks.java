package dev.ultrakv.bench;

/**
 * Prints this machine's triad bandwidth and peak FMA throughput as {@link dev.ultrakv.tensor.MachinePeaks}
 * measures them: {@code java --add-modules jdk.incubator.vector -cp bench/target/ultrakv-benchmarks.jar
 * dev.ultrakv.bench.MachinePeaks}.
 */
public final class MachinePeaks {

    private MachinePeaks() {
    }

    public static void main(String[] args) {
        double bandwidth = dev.ultrakv.tensor.MachinePeaks.measureTriadBandwidth();
        double flops = dev.ultrakv.tensor.MachinePeaks.measurePeakFmaFlops();
        System.out.printf("triad bandwidth: %.1f GB/s%npeak FMA:        %.1f GFLOP/s%n", bandwidth / 1e9, flops / 1e9);
    }
}
