package dev.ultrakv.bench;

import dev.ultrakv.CacheStrategy;
import dev.ultrakv.EngineStats;
import dev.ultrakv.KVCacheConfig;
import dev.ultrakv.ModelSource;
import dev.ultrakv.Request;
import dev.ultrakv.RequestResult;
import dev.ultrakv.UltraAdaptiveKVCacheEngine;
import dev.ultrakv.kvcache.tier.DiskKvTier;
import dev.ultrakv.kvcache.tier.DiskTierOptions;
import dev.ultrakv.kvcache.tier.KvTier;
import dev.ultrakv.kvcache.tier.RedisKvTier;
import dev.ultrakv.kvcache.tier.RedisTierOptions;
import dev.ultrakv.kvcache.tier.TierStats;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.function.Function;
import java.util.stream.Stream;

/**
 * Time to first token of long prompts served four ways in one run: recomputed, from the memory pool, from the disk
 * tier and from Redis (issue 14's {@code bench tiers}). One engine computes each prompt (a miss, written through to
 * the tiers) and serves it again from memory; it closes, which finishes the tiers' writes; then a fresh engine with
 * the disk tier alone and one with Redis alone (empty memory, the same JVM so the kernels stay compiled) serve the
 * same prompts, each a hit in its tier that the engine loads and promotes before the last position is computed.
 *
 * <p>Before anything is timed, each engine serves a few prompts of the measured length that are not measured: the
 * first engine computes them (writing them through) and serves them again from memory, each tier's engine loads
 * them from its tier. A tier's first long loads otherwise pay for what only first ones do (the client's buffers
 * growing, fresh heap touched, its decoding path compiled): 180-360 ms from Redis for the first, 100-130 for the
 * next few, where later ones took 25-50.
 *
 * <p>Every run writes into a fresh disk directory (deleted afterwards) and under a fresh Redis key prefix (whose keys
 * expire after ten minutes), so nothing from an earlier run can hit. Times are the engine's own (arrival to first token), medians over the prompts.
 */
public final class TiersBenchmark {
    /** Short requests run first on each engine so that the kernels are compiled before anything is timed. */
    private static final int WARMUP_REQUESTS = 2;
    private static final int WARMUP_TOKENS = 48;
    /**
     * Untimed prompts of the measured length each engine serves first, and their seeds' offset, apart from the
     * measured ones (seed + index). Four: a process's first few long loads from Redis took 100-130 ms where later
     * ones took 25-50 (its client's code still compiling), and the bench runs with {@code -Xbatch}.
     */
    private static final int LONG_WARMUPS = 4;
    private static final long LONG_WARMUP_SEED = 2_000_000;
    /** Long enough for a large prompt's blocks through loopback Redis or a busy disk. */
    private static final Duration TIER_TIMEOUT = Duration.ofSeconds(10);
    /** The run's Redis keys expire on their own: the benchmark leaves nothing behind for long. */
    private static final Duration REDIS_TTL = Duration.ofMinutes(10);
    /** Room for every prompt's records in the tiers' write queues at once. */
    private static final long QUEUE_BYTES = 2L << 30;

    private TiersBenchmark() {
    }

    /**
     * One way of serving the prompts.
     *
     * @param served        "recomputed", "memory", "disk" or "redis"
     * @param ttftMillis    median time to first token
     * @param cachedTokens  median prompt tokens that came from a cache (memory or tier)
     * @param speedup       how many times sooner than recomputing
     */
    public record Row(String served, double ttftMillis, int cachedTokens, double speedup) {
    }

    /**
     * The figures of one run.
     *
     * @param model        what was served
     * @param kvCodec      the KV blocks' codec
     * @param blockBytes   record bytes of one prompt's blocks as the tiers stored them (from the disk tier's count)
     */
    public record Result(String model, String kvCodec, int promptTokens, int prompts, List<Row> rows,
                         long blockBytes, List<TierStats> tierStats) {

        /** A small table for people. */
        public String format() {
            StringBuilder out = new StringBuilder(String.format(Locale.ROOT,
                    "model %s, KV %s, prompts of %d tokens, %d prompts (%.1f MB of blocks each)%n", model, kvCodec,
                    promptTokens, prompts, blockBytes / 1e6));
            out.append(String.format(Locale.ROOT, "%-12s %12s %14s %10s%n", "served from", "TTFT p50 ms",
                    "cached tokens", "speed-up"));
            for (Row row : rows) {
                out.append(String.format(Locale.ROOT, "%-12s %12.1f %14d %9.1fx%n", row.served(), row.ttftMillis(),
                        row.cachedTokens(), row.speedup()));
            }
            for (TierStats t : tierStats) {
                out.append(String.format(Locale.ROOT, "%s tier: %d hits, %d misses, %d blocks written, %d errors,"
                        + " %d corrupt, load p50 %.1f ms%n", t.tier(), t.hits(), t.misses(), t.blocksWritten(),
                        t.errors(), t.corrupt(), t.loadP50().toNanos() / 1e6));
            }
            return out.toString();
        }
    }

    /**
     * Runs the benchmark.
     *
     * @param source       the model
     * @param kvBits       0 for float32 blocks, else the integer codec's bits (8, 4 or 2)
     * @param diskParent   where the run's fresh disk directory is made (deleted afterwards)
     * @param redisUri     a Redis to measure too, or null to leave the Redis row out
     */
    public static Result run(ModelSource source, int promptTokens, int prompts, int kvBits, Path diskParent,
                             String redisUri, long seed) {
        if (promptTokens < 2 || prompts < 1) {
            throw new IllegalArgumentException("prompt tokens must be at least 2 and prompts at least 1: got "
                    + promptTokens + ", " + prompts);
        }
        Path disk;
        try {
            Files.createDirectories(diskParent);
            disk = Files.createTempDirectory(diskParent, "bench-tiers-");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot make a disk tier directory under " + diskParent, e);
        }
        String redisPrefix = "ultrakv:bench-tiers:" + System.nanoTime();
        try {
            return measure(source, promptTokens, prompts, kvBits, disk, redisUri, redisPrefix, seed);
        } finally {
            deleteTree(disk);
        }
    }

    private static Result measure(ModelSource source, int promptTokens, int prompts, int kvBits, Path disk,
                                  String redisUri, String redisPrefix, long seed) {
        long cacheTokens = Math.max(4096, (long) promptTokens * (prompts + LONG_WARMUPS + 1));
        Function<List<KvTier>, KVCacheConfig> config = tiers -> {
            KVCacheConfig.Builder builder = KVCacheConfig.builder().model(source).cacheStrategy(CacheStrategy.LRU)
                    .maxTokens(Math.toIntExact(cacheTokens)).tierLoadTimeout(TIER_TIMEOUT);
            if (kvBits != 0) {
                builder.useQuantization(true).quantizationBits(kvBits);
            }
            tiers.forEach(builder::addTier);
            return builder.build();
        };
        List<Row> rows = new ArrayList<>();
        List<TierStats> tierStats = new ArrayList<>();
        List<String> texts = new ArrayList<>();
        String model;
        String codec;
        long blockBytes;
        List<KvTier> writers = new ArrayList<>(List.of(openDisk(disk)));
        if (redisUri != null) {
            writers.add(openRedis(redisUri, redisPrefix));
        }
        double[] recomputed = new double[prompts];
        List<String> longWarmUps = new ArrayList<>();
        double[] memory = new double[prompts];
        int memoryCached = 0;
        try (UltraAdaptiveKVCacheEngine engine = new UltraAdaptiveKVCacheEngine(config.apply(writers))) {
            model = engine.modelInfo().name();
            codec = kvBits == 0 ? "float32" : "int" + kvBits;
            for (int w = 0; w < LONG_WARMUPS; w++) {
                longWarmUps.add(PrefixCacheBenchmark.prompt(text -> engine.tokenize(text, true).length,
                        promptTokens, seed + LONG_WARMUP_SEED + w));
            }
            warmUp(engine, seed);
            for (String text : longWarmUps) {
                serve(engine, text);
                serve(engine, text);
            }
            for (int p = 0; p < prompts; p++) {
                texts.add(PrefixCacheBenchmark.prompt(text -> engine.tokenize(text, true).length, promptTokens,
                        seed + p));
                RequestResult miss = serve(engine, texts.get(p));
                RequestResult hit = serve(engine, texts.get(p));
                // A miss may share a first partial block (BOS) with the warm-up prompts, never a full block.
                if (miss.cachedPromptTokens() >= KVCacheConfig.DEFAULT_BLOCK_SIZE || hit.cachedPromptTokens() == 0) {
                    throw new IllegalStateException("expected a miss then a memory hit, got " + miss + " then " + hit);
                }
                recomputed[p] = millis(miss);
                memory[p] = millis(hit);
                memoryCached = hit.cachedPromptTokens();
            }
        }
        // The engine closed its tiers: their queued writes are on disk and in Redis now.
        double recomputedMillis = RooflineBenchmark.median(recomputed);
        rows.add(new Row("recomputed", recomputedMillis, 0, 1));
        rows.add(row("memory", memory, memoryCached, recomputedMillis));
        Row diskRow = fromTier("disk", config, openDisk(disk), longWarmUps, texts, seed, recomputedMillis, tierStats);
        rows.add(diskRow);
        blockBytes = tierStats.getFirst().bytesRead() / Math.max(1, prompts);
        if (redisUri != null) {
            rows.add(fromTier("redis", config, openRedis(redisUri, redisPrefix), longWarmUps, texts, seed,
                    recomputedMillis, tierStats));
        }
        return new Result(model, codec, promptTokens, prompts, rows, blockBytes, tierStats);
    }

    /**
     * A fresh engine over {@code tier} alone serves each prompt once: every full block should come from it. It
     * first loads {@code longWarmUps} from the tier, untimed.
     */
    private static Row fromTier(String name, Function<List<KvTier>, KVCacheConfig> config, KvTier tier,
                                List<String> longWarmUps, List<String> texts, long seed, double recomputedMillis,
                                List<TierStats> stats) {
        double[] ttft = new double[texts.size()];
        int cached = 0;
        try (UltraAdaptiveKVCacheEngine engine = new UltraAdaptiveKVCacheEngine(config.apply(List.of(tier)))) {
            warmUp(engine, seed + 1_000_000);
            for (String text : longWarmUps) {
                RequestResult warm = serve(engine, text);
                if (warm.cachedPromptTokens() < KVCacheConfig.DEFAULT_BLOCK_SIZE) {
                    throw new IllegalStateException("the " + name + " tier had none of a warm-up prompt: " + warm
                            + "; " + tier.stats());
                }
            }
            TierStats before = tier.stats();
            for (int p = 0; p < texts.size(); p++) {
                RequestResult result = serve(engine, texts.get(p));
                if (result.cachedPromptTokens() < KVCacheConfig.DEFAULT_BLOCK_SIZE) {
                    throw new IllegalStateException("the " + name + " tier had none of prompt " + p + ": " + result
                            + "; " + tier.stats());
                }
                ttft[p] = millis(result);
                cached = result.cachedPromptTokens();
            }
            TierStats after = tier.stats();
            stats.add(new TierStats(name, after.hits() - before.hits(), after.misses() - before.misses(),
                    after.blocksWritten(), after.bytesWritten(), after.bytesRead() - before.bytesRead(),
                    after.droppedWrites(), after.errors(), after.corrupt(), after.loadP50(), after.loadP99()));
            EngineStats.Tiers tiers = engine.getStats().tiers();
            if (tiers.recomputedLoads() != 0) {
                throw new IllegalStateException(name + " tier loads fell back to recomputing: " + tiers);
            }
        }
        return row(name, ttft, cached, recomputedMillis);
    }

    private static Row row(String served, double[] ttft, int cached, double recomputedMillis) {
        double median = RooflineBenchmark.median(ttft);
        return new Row(served, median, cached, recomputedMillis / median);
    }

    private static void warmUp(UltraAdaptiveKVCacheEngine engine, long seed) {
        for (int i = 0; i < WARMUP_REQUESTS; i++) {
            serve(engine, PrefixCacheBenchmark.prompt(text -> engine.tokenize(text, true).length, WARMUP_TOKENS,
                    seed + 7919L * (i + 1)));
        }
    }

    private static RequestResult serve(UltraAdaptiveKVCacheEngine engine, String text) {
        return engine.processRequest(Request.builder().text(text).priority(2).maxNewTokens(1).build()).join();
    }

    private static double millis(RequestResult result) {
        return result.timeToFirstToken().toNanos() / 1e6;
    }

    private static KvTier openDisk(Path directory) {
        return DiskKvTier.open(directory, DiskTierOptions.of(64L << 30).withQueueBytes(QUEUE_BYTES)
                .withLoadTimeout(TIER_TIMEOUT));
    }

    private static KvTier openRedis(String uri, String prefix) {
        return RedisKvTier.connect(uri, RedisTierOptions.defaults().withKeyPrefix(prefix)
                .withCommandTimeout(TIER_TIMEOUT).withWriteQueue(1 << 16, QUEUE_BYTES).withTtl(REDIS_TTL));
    }

    private static void deleteTree(Path root) {
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete the benchmark's disk tier " + root, e);
        }
    }
}
