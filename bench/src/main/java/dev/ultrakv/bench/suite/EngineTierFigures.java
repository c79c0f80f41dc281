package dev.ultrakv.bench.suite;

import dev.ultrakv.EngineStats;

import java.util.List;

/**
 * What the KV tiers did for one engine of a benchmark: each tier's counters and what the engine promoted from
 * them ({@link EngineStats.Tiers}).
 *
 * @param engine          which engine of the benchmark (e.g. {@code concurrency 50}, {@code LRU / multi-turn-chat})
 * @param tiers           each tier's counters, in the order they are asked
 * @param loads           lookups started: requests whose memory-resident prefix ended before their last full block
 * @param promotedBlocks  blocks brought back from the tiers into memory
 * @param promotedTokens  prompt positions of those blocks
 * @param recomputedLoads loads that fell back to recomputing blocks that were found
 * @param refusedRecords  records a tier returned that the engine's own check refused
 */
public record EngineTierFigures(String engine, List<TierFigures> tiers, long loads, long promotedBlocks,
                                long promotedTokens, long recomputedLoads, long refusedRecords) {

    /** Copies the list. */
    public EngineTierFigures {
        tiers = List.copyOf(tiers);
    }

    /** The figures of engine {@code engine} from its {@code stats}. */
    static EngineTierFigures of(String engine, EngineStats.Tiers stats) {
        return new EngineTierFigures(engine, stats.tiers().stream().map(TierFigures::of).toList(), stats.loads(),
                stats.promotedBlocks(), stats.promotedTokens(), stats.recomputedLoads(), stats.refusedRecords());
    }
}
