package dev.ultrakv.kvcache.tier;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * One request's lookup of the full blocks after its memory-resident prefix, asked of the tiers in order: the first
 * tier for all of them, each next one for what the tiers before it did not have. Started by
 * {@link KvTiers#load}; the step loop polls {@link #isDone()} and then takes the checked payloads with
 * {@link KvTiers#payloads}. It holds no pool block: a request dropped while loading just forgets it.
 */
public final class TierLoad {
    private final BlockKey[] keys;
    private final int firstBlock;
    private final long startNanos;
    final CompletableFuture<Run> run;
    /** Set once {@link KvTiers#release} gave the records back: the step loop's alone. */
    boolean released;

    TierLoad(BlockKey[] keys, int firstBlock, long startNanos, CompletableFuture<Run> run) {
        this.keys = keys;
        this.firstBlock = firstBlock;
        this.startNanos = startNanos;
        this.run = run;
    }

    /** The index in the prompt of the first block asked for: the memory-resident prefix's full blocks. */
    public int firstBlock() {
        return firstBlock;
    }

    /** Blocks asked for. */
    public int blocksAsked() {
        return keys.length;
    }

    /** The key of the {@code i}-th block asked for (block {@code firstBlock() + i} of the prompt). */
    BlockKey key(int i) {
        return keys[i];
    }

    /** When the load started, on the caller's ticker. */
    public long startNanos() {
        return startNanos;
    }

    /** Whether every tier asked has answered. */
    public boolean isDone() {
        return run.isDone();
    }

    /** Runs {@code action} (on a tier's thread, or at once) when every tier asked has answered. */
    public void whenDone(Runnable action) {
        run.whenComplete((r, e) -> action.run());
    }

    @Override
    public String toString() {
        return "TierLoad[blocks " + firstBlock + ".." + (firstBlock + keys.length) + (isDone() ? ", done]" : "]");
    }

    /**
     * The leading run found so far.
     *
     * @param records   element {@code i} is the record of the {@code i}-th key asked for
     * @param fromTier  (tier): how many of {@code records} that tier gave, in order
     * @param asked     (tier): whether that tier was asked (it is not once the run is whole)
     * @param refusedAt the first record that failed the engine's check, where the usable run ends; -1 if none
     * @param refusal   what was wrong with it, or null
     */
    record Run(List<byte[]> records, int[] fromTier, boolean[] asked, int refusedAt, String refusal) {
        static Run empty(int tiers) {
            return new Run(List.of(), new int[tiers], new boolean[tiers], -1, null);
        }

        /** This run with record {@code index} refused for {@code problem}. */
        Run refusing(int index, String problem) {
            return new Run(records, fromTier, asked, index, problem);
        }

        /** This run extended by what {@code tier} gave: at most {@code wanted} records. */
        Run plus(int tier, List<byte[]> found, int wanted) {
            List<byte[]> all = new ArrayList<>(records);
            int taken = 0;
            for (byte[] record : found) {
                if (taken == wanted || record == null) {
                    break;
                }
                all.add(record);
                taken++;
            }
            int[] counts = fromTier.clone();
            counts[tier] = taken;
            boolean[] askedNow = Arrays.copyOf(asked, asked.length);
            askedNow[tier] = true;
            return new Run(all, counts, askedNow, refusedAt, refusal);
        }
    }
}
