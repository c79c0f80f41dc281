package dev.ultrakv.bench.suite;

import dev.ultrakv.kvcache.tier.KvTier;

import java.util.List;
import java.util.Objects;
import java.util.function.Supplier;

/**
 * The KV tiers below memory that every engine of a suite run gets: how to open a fresh set for one engine (an
 * engine owns and closes its tiers, so each engine needs its own instances), and what they are, for the report.
 *
 * @param description one line per tier in the order they are asked (e.g. {@code disk /tmp/kv (8589934592 bytes)});
 *                    empty for none
 * @param opener      opens a fresh set of tiers for one engine, in the same order; the caller owns what it returns
 */
public record SuiteTiers(List<String> description, Supplier<List<KvTier>> opener) {
    /** No tiers: the engines keep their KV blocks in memory only. */
    public static final SuiteTiers NONE = new SuiteTiers(List.of(), List::of);

    /** Checks the values. */
    public SuiteTiers {
        description = List.copyOf(description);
        Objects.requireNonNull(opener, "opener");
    }

    /** Whether any tier is configured. */
    public boolean any() {
        return !description.isEmpty();
    }

    /**
     * A fresh set of tiers for one engine.
     *
     * @throws IllegalStateException if the opener returned a different number of tiers than described (it closes
     *                               them first)
     */
    List<KvTier> open() {
        List<KvTier> opened = List.copyOf(opener.get());
        if (opened.size() != description.size()) {
            opened.forEach(KvTier::close);
            throw new IllegalStateException("opened " + opened.size() + " tiers, described " + description.size()
                    + ": " + description);
        }
        return opened;
    }
}
