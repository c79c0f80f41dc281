package dev.ultrakv.bench.suite;

import dev.ultrakv.KVCacheConfig;

import java.util.Collection;

/** How many cache positions hold a set of requests whole, so that none is evicted. */
final class CacheSizing {
    /** One more sequence's worth of blocks: the one being generated while all others are cached. */
    static final int SPARE_SEQUENCES = 1;

    private CacheSizing() {
    }

    /**
     * Positions that hold every distinct text of {@code texts} with its {@code maxNewTokens} generated tokens,
     * each sequence rounded up to whole blocks (an upper bound: shared prefixes are counted once per text).
     */
    static int toHold(SuiteModel model, Collection<String> texts, int maxNewTokens) {
        int block = KVCacheConfig.DEFAULT_BLOCK_SIZE;
        long positions = 0;
        int longest = 0;
        for (String text : texts) {
            int sequence = Math.min(model.contextLength(), model.tokens(text) + maxNewTokens);
            int rounded = Math.ceilDiv(sequence, block) * block;
            positions += rounded;
            longest = Math.max(longest, rounded);
        }
        return Math.toIntExact(positions + (long) SPARE_SEQUENCES * longest);
    }
}
