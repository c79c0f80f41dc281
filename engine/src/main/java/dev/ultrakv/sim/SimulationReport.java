package dev.ultrakv.sim;

import dev.ultrakv.kvcache.policy.PolicyKind;

import java.util.List;
import java.util.Locale;
import java.util.NoSuchElementException;

/**
 * The results of a simulation, one row per workload, policy and capacity, with a text table for people and CSV
 * for tools.
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
        for (SimulationResult row : rows) {
            if (row.workload().equals(workload) && row.policy() == policy && row.capacityBlocks() == capacityBlocks) {
                return row;
            }
        }
        throw new NoSuchElementException(workload + " / " + policy + " / " + capacityBlocks + " was not run");
    }

    /** A fixed-width table, rates in percent with two decimals. */
    public String formatTable() {
        var out = new StringBuilder(String.format(Locale.ROOT, "%-22s %-9s %8s %9s %9s %9s %10s%n", "workload",
                "policy", "capacity", "requests", "hit rate", "token hit", "evictions"));
        for (SimulationResult row : rows) {
            out.append(String.format(Locale.ROOT, "%-22s %-9s %8d %9d %8.2f%% %8.2f%% %10d%n", row.workload(),
                    row.policy(), row.capacityBlocks(), row.requests(), 100 * row.requestHitRate(),
                    100 * row.tokenHitRate(), row.evictions()));
        }
        return out.toString();
    }

    /** The same rows as CSV with a header line; rates as fractions. */
    public String formatCsv() {
        var out = new StringBuilder("workload,policy,capacity_blocks,requests,request_hits,request_hit_rate,"
                + "prompt_tokens,cached_tokens,token_hit_rate,evictions,unfit_requests\n");
        for (SimulationResult row : rows) {
            out.append(String.format(Locale.ROOT, "%s,%s,%d,%d,%d,%.6f,%d,%d,%.6f,%d,%d%n", row.workload(),
                    row.policy(), row.capacityBlocks(), row.requests(), row.requestHits(), row.requestHitRate(),
                    row.promptTokens(), row.cachedTokens(), row.tokenHitRate(), row.evictions(),
                    row.unfitRequests()));
        }
        return out.toString();
    }
}
