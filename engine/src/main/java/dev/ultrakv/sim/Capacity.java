package dev.ultrakv.sim;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;

/**
 * A simulated cache size: a number of blocks, or a share of the workload's working set (the distinct blocks it
 * computes), which makes sizes comparable across workloads of different scale.
 */
public sealed interface Capacity {

    /** The size in blocks for a workload whose working set is {@code workingSetBlocks}; at least one block. */
    int blocksFor(int workingSetBlocks);

    /** A fixed number of blocks. */
    record Blocks(int blocks) implements Capacity {
        /** Validates the count. */
        public Blocks {
            if (blocks <= 0) {
                throw new IllegalArgumentException("a capacity needs at least one block: " + blocks);
            }
        }

        @Override
        public int blocksFor(int workingSetBlocks) {
            return blocks;
        }

        @Override
        public String toString() {
            return Integer.toString(blocks);
        }
    }

    /** A share of the working set, in (0, 1]. */
    record Share(double share) implements Capacity {
        /** Validates the share. */
        public Share {
            if (!(share > 0 && share <= 1)) {
                throw new IllegalArgumentException("a capacity share must be in (0, 100%]: " + share);
            }
        }

        @Override
        public int blocksFor(int workingSetBlocks) {
            return (int) Math.max(1, Math.round(share * workingSetBlocks));
        }

        @Override
        public String toString() {
            return new BigDecimal(Double.toString(share * 100)).stripTrailingZeros().toPlainString() + "%";
        }
    }

    /**
     * Parses {@code 5%} (a share of the working set, above 0 and at most 100) or {@code 2000} (blocks).
     *
     * @throws IllegalArgumentException naming the text
     */
    static Capacity parse(String text) {
        String trimmed = text.trim();
        try {
            if (trimmed.endsWith("%")) {
                return new Share(Double.parseDouble(trimmed.substring(0, trimmed.length() - 1).trim()) / 100);
            }
            return new Blocks(Integer.parseInt(trimmed));
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("capacity '" + text + "' is neither a percentage (5%) nor a number"
                    + " of blocks (2000)");
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("capacity '" + text + "': " + e.getMessage());
        }
    }

    /** Parses a comma-separated list of {@link #parse} capacities. */
    static List<Capacity> parseList(String list) {
        List<Capacity> capacities = new ArrayList<>();
        for (String part : list.split(",")) {
            capacities.add(parse(part));
        }
        return capacities;
    }
}
