package dev.ultrakv.sim;

import dev.ultrakv.kvcache.policy.PolicyKind;

import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;

/**
 * The results of a simulation, one row per workload, policy and capacity, with a text table for people, and CSV
 * and JSON for tools. Where LRU and the optimum ran at the same size, each row also says how much of the gap
 * between them its policy closes.
 *
 * @param rows in the order run: workloads, then capacities, then policies
 */
public record SimulationReport(List<SimulationResult> rows) {

    /** Copies the rows. */
    public SimulationReport {
        rows = List.copyOf(rows);
    }

    /**
     * The row of one replay.
     *
     * @throws NoSuchElementException if it was not run
     */
    public SimulationResult find(String workload, PolicyKind policy, int capacityBlocks) {
        return find(workload, policy, capacityBlocks, 0);
    }

    /**
     * The row of one replay with a disk tier of {@code diskBlocks} (0: memory alone).
     *
     * @throws NoSuchElementException if it was not run
     */
    public SimulationResult find(String workload, PolicyKind policy, int capacityBlocks, int diskBlocks) {
        SimulationResult row = findOrNull(workload, policy, capacityBlocks, diskBlocks);
        if (row == null) {
            throw new NoSuchElementException(workload + " / " + policy + " / " + capacityBlocks
                    + (diskBlocks == 0 ? "" : " / disk " + diskBlocks) + " was not run");
        }
        return row;
    }

    /** The rows of memory alone, without those with a disk tier (what the charts draw). */
    public SimulationReport memoryAlone() {
        return new SimulationReport(rows.stream().filter(row -> row.diskBlocks() == 0).toList());
    }

    /**
     * The share of the token hit rate gap between LRU and the optimum that {@code row}'s policy closes at its
     * workload and size: 0 for LRU's rate, 1 for the optimum's, negative below LRU.
     *
     * @return NaN when LRU or the optimum did not run there, or they are equal (no gap to close)
     */
    public double gapClosed(SimulationResult row) {
        SimulationResult lru = findOrNull(row.workload(), PolicyKind.LRU, row.capacityBlocks(), row.diskBlocks());
        SimulationResult optimal = findOrNull(row.workload(), PolicyKind.OPTIMAL, row.capacityBlocks(),
                row.diskBlocks());
        if (lru == null || optimal == null) {
            return Double.NaN;
        }
        double gap = optimal.tokenHitRate() - lru.tokenHitRate();
        return gap <= 0 ? Double.NaN : (row.tokenHitRate() - lru.tokenHitRate()) / gap;
    }

    private SimulationResult findOrNull(String workload, PolicyKind policy, int capacityBlocks, int diskBlocks) {
        for (SimulationResult row : rows) {
            if (row.workload().equals(workload) && row.policy() == policy && row.capacityBlocks() == capacityBlocks
                    && row.diskBlocks() == diskBlocks) {
                return row;
            }
        }
        return null;
    }

    /**
     * A fixed-width table, rates in percent with two decimals; with a disk tier, also its size in blocks and the
     * share of prompt tokens it gave (part of the token hit rate).
     */
    public String formatTable() {
        boolean disk = rows.stream().anyMatch(row -> row.diskBlocks() > 0);
        var out = new StringBuilder(String.format(Locale.ROOT, "%-24s %-9s %8s %7s%s %9s %9s %9s %10s %7s%n",
                "workload", "policy", "capacity", "share", disk ? String.format(Locale.ROOT, " %8s %9s", "disk",
                        "from disk") : "", "full hit", "block hit", "token hit", "evictions", "gap"));
        for (SimulationResult row : rows) {
            double gap = gapClosed(row);
            out.append(String.format(Locale.ROOT, "%-24s %-9s %8d %6.2f%%%s %8.2f%% %8.2f%% %8.2f%% %10d %7s%n",
                    row.workload(), row.policy(), row.capacityBlocks(), 100 * row.capacityShare(),
                    disk ? String.format(Locale.ROOT, " %8d %8.2f%%", row.diskBlocks(), 100 * row.diskTokenHitRate())
                            : "",
                    100 * row.fullHitRate(), 100 * row.blockHitRate(), 100 * row.tokenHitRate(), row.evictions(),
                    Double.isNaN(gap) ? "-" : String.format(Locale.ROOT, "%.0f%%", 100 * gap)));
        }
        return out.toString();
    }

    /** The same rows as CSV with a header line; rates as fractions, an undefined gap left empty. */
    public String formatCsv() {
        var out = new StringBuilder("workload,policy,capacity_blocks,working_set_blocks,requests,full_hit_rate,"
                + "block_hit_rate,token_hit_rate,evictions,unfit_requests,gap_closed,disk_blocks,"
                + "disk_token_hit_rate\n");
        for (SimulationResult row : rows) {
            out.append(String.format(Locale.ROOT, "%s,%s,%d,%d,%d,%.6f,%.6f,%.6f,%d,%d,%s,%d,%.6f%n", row.workload(),
                    row.policy(), row.capacityBlocks(), row.workingSet(), row.requests(), row.fullHitRate(),
                    row.blockHitRate(), row.tokenHitRate(), row.evictions(), row.unfitRequests(),
                    Double.isNaN(gapClosed(row)) ? "" : number(gapClosed(row)), row.diskBlocks(),
                    row.diskTokenHitRate()));
        }
        return out.toString();
    }

    /**
     * The rows as a JSON array of objects with the fields {@code workload}, {@code policy} (lower case),
     * {@code capacityBlocks}, {@code capacityShare}, {@code workingSetBlocks}, {@code requests},
     * {@code blockHitRate}, {@code tokenHitRate}, {@code fullHitRate}, {@code evictions}, {@code unfitRequests},
     * {@code gapClosed} (null where undefined), {@code diskBlocks} (0: memory alone) and {@code diskTokenHitRate}
     * (the disk tier's part of {@code tokenHitRate}); rates and shares as fractions.
     */
    public String formatJson() {
        var out = new StringBuilder("[\n");
        for (int i = 0; i < rows.size(); i++) {
            SimulationResult row = rows.get(i);
            out.append(String.format(Locale.ROOT, "  {\"workload\": \"%s\", \"policy\": \"%s\", \"capacityBlocks\": %d,"
                            + " \"capacityShare\": %.6f, \"workingSetBlocks\": %d, \"requests\": %d,"
                            + " \"blockHitRate\": %.6f, \"tokenHitRate\": %.6f, \"fullHitRate\": %.6f,"
                            + " \"evictions\": %d, \"unfitRequests\": %d, \"gapClosed\": %s, \"diskBlocks\": %d,"
                            + " \"diskTokenHitRate\": %.6f}%s%n",
                    jsonEscape(row.workload()), row.policy().name().toLowerCase(Locale.ROOT), row.capacityBlocks(),
                    row.capacityShare(), row.workingSet(), row.requests(), row.blockHitRate(), row.tokenHitRate(),
                    row.fullHitRate(), row.evictions(), row.unfitRequests(), number(gapClosed(row)),
                    row.diskBlocks(), row.diskTokenHitRate(), i + 1 < rows.size() ? "," : ""));
        }
        return out.append("]\n").toString();
    }

    private static String number(double value) {
        return Double.isNaN(value) ? "null" : String.format(Locale.ROOT, "%.6f", value);
    }

    private static String jsonEscape(String text) {
        var out = new StringBuilder();
        for (char c : text.toCharArray()) {
            if (c == '"' || c == '\\') {
                out.append('\\').append(c);
            } else if (c < 0x20) {
                out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
            } else {
                out.append(c);
            }
        }
        return out.toString();
    }
}
