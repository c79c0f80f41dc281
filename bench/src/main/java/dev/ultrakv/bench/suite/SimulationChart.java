package dev.ultrakv.bench.suite;

import dev.ultrakv.kvcache.policy.PolicyKind;
import dev.ultrakv.sim.SimulationReport;
import dev.ultrakv.sim.SimulationResult;
import org.knowm.xchart.XYChart;

import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The chart of a policy simulation ({@code ultrakv simulate}): for each workload, token hit rate against cache
 * size (as a share of the working set), one line per policy, so that the distance of each policy from the offline
 * optimum reads at a glance.
 */
public final class SimulationChart {
    /** Panels per row of the chart when they fill the rows. */
    static final int COLUMNS = 2;
    private static final double PERCENT = 100;

    private SimulationChart() {
    }

    /** The chart of {@code report} as PNG bytes. */
    public static byte[] png(SimulationReport report) {
        Map<String, Map<PolicyKind, List<SimulationResult>>> byWorkload = new LinkedHashMap<>();
        for (SimulationResult row : report.rows()) {
            byWorkload.computeIfAbsent(row.workload(), w -> new EnumMap<>(PolicyKind.class))
                    .computeIfAbsent(row.policy(), p -> new ArrayList<>()).add(row);
        }
        List<XYChart> panels = new ArrayList<>();
        byWorkload.forEach((workload, byPolicy) -> {
            XYChart chart = ChartStyle.lines(workload, "cache size (% of the working set, log scale)",
                    "token hit rate (%)");
            chart.getStyler().setXAxisLogarithmic(true);
            chart.getStyler().setYAxisMin(0.0);
            byPolicy.forEach((policy, rows) -> chart.addSeries(policy.name(),
                    rows.stream().mapToDouble(r -> ChartStyle.positive(PERCENT * r.capacityShare())).toArray(),
                    rows.stream().mapToDouble(r -> PERCENT * r.tokenHitRate()).toArray()));
            panels.add(chart);
        });
        // The grid must be full (XChart draws every cell): an odd number of panels goes in one column.
        int columns = panels.size() % COLUMNS == 0 ? COLUMNS : 1;
        return ChartStyle.png(panels, panels.size() / columns, columns);
    }
}
