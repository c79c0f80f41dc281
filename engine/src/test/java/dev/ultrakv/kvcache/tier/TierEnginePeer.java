package dev.ultrakv.kvcache.tier;

import dev.ultrakv.KVCacheConfig;
import dev.ultrakv.ModelSource;
import dev.ultrakv.Request;
import dev.ultrakv.RequestResult;
import dev.ultrakv.UltraAdaptiveKVCacheEngine;
import dev.ultrakv.model.synthetic.SyntheticShape;

import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;

/**
 * An engine in a JVM of its own for {@link EngineTierProcessesTest}: serves one prompt over a disk or Redis tier,
 * prints what it generated and how much of the prompt came from a cache, then closes (which finishes the tier's
 * writes) and exits 0.
 *
 * <p>Arguments: {@code disk DIR} or {@code redis URI}, then the prompt. Prints {@code cached=N tokens=[...]}.
 */
public final class TierEnginePeer {
    static final ModelSource MODEL = ModelSource.synthetic(SyntheticShape.TEST_SMALL, 3);
    static final int NEW_TOKENS = 8;
    /** Two JVMs start at once on a busy build machine: generous bounds on every tier call. */
    static final Duration TIMEOUT = Duration.ofSeconds(10);

    private TierEnginePeer() {
    }

    /** The tier an argument pair names: {@code disk DIR} or {@code redis URI}. */
    static KvTier tier(String kind, String where) {
        return switch (kind) {
            case "disk" -> DiskKvTier.open(Path.of(where), DiskTierOptions.of(256L << 20).withLoadTimeout(TIMEOUT));
            case "redis" -> RedisKvTier.connect(where, RedisTierOptions.defaults().withCommandTimeout(TIMEOUT));
            default -> throw new IllegalArgumentException("tier kind must be disk or redis, not " + kind);
        };
    }

    /** An engine of {@link #MODEL} over {@code tier}, which it owns. */
    static UltraAdaptiveKVCacheEngine engine(KvTier tier) {
        return new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().model(MODEL).maxTokens(2048).addTier(tier)
                .tierLoadTimeout(TIMEOUT.multipliedBy(2)).build());
    }

    /** A greedy request for {@code prompt}. */
    static Request request(String prompt) {
        return Request.builder().text(prompt).maxNewTokens(NEW_TOKENS).temperature(0).build();
    }

    /** What the peer prints for {@code result}. */
    static String describe(RequestResult result) {
        return "cached=" + result.cachedPromptTokens() + " tokens=" + Arrays.toString(result.generatedTokenIds());
    }

    public static void main(String[] args) {
        try (UltraAdaptiveKVCacheEngine engine = engine(tier(args[0], args[1]))) {
            System.out.println(describe(engine.processRequest(request(args[2])).join()));
        }
    }
}
