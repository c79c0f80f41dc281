package dev.ultrakv.server;

import dev.ultrakv.KVCacheConfig;
import dev.ultrakv.kvcache.tier.DiskKvTier;
import dev.ultrakv.kvcache.tier.KvTier;
import dev.ultrakv.kvcache.tier.RedisKvTier;
import dev.ultrakv.kvcache.tier.RedisTierAddress;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import picocli.CommandLine.Option;

/**
 * The KV cache tiers below memory, as command-line options ({@code --kv-disk}, {@code --kv-disk-bytes},
 * {@code --kv-redis}): a picocli mixin shared by {@code serve}, {@code generate} and the benchmarks, so each
 * spells and checks them the same way. Disk comes before Redis: a local read is cheaper than a network one.
 */
public final class KvTierOptions {
    /** The disk tier's budget when {@code --kv-disk-bytes} is not given. */
    public static final long DEFAULT_DISK_BYTES = 8L << 30;

    @Option(names = "--kv-disk", paramLabel = "DIR",
            description = "Keep KV blocks in segment files under DIR too; a restarted engine finds them again.")
    Path diskDirectory;

    @Option(names = "--kv-disk-bytes", paramLabel = "N",
            description = "The disk tier's budget in bytes; the oldest segments go first (default: 8 GiB).")
    Long diskBytes;

    @Option(names = "--kv-redis", paramLabel = "URI",
            description = "Share KV blocks through Redis at redis://host:port[/db] with every engine pointed there.")
    String redisUri;

    /** Whether any tier was asked for. */
    public boolean any() {
        return diskDirectory != null || redisUri != null;
    }

    /**
     * Opens the tiers asked for, adds them to {@code builder} and builds the configuration, whose engine owns the
     * tiers from then on (it closes them). Checks the options first, so that a bad combination opens nothing, and
     * closes what it opened if the configuration cannot be built.
     *
     * @throws IllegalArgumentException naming the option that is wrong, or the directory or URI that cannot be used
     */
    public KVCacheConfig build(KVCacheConfig.Builder builder) {
        List<KvTier> opened = open();
        try {
            opened.forEach(builder::addTier);
            return builder.build();
        } catch (RuntimeException e) {
            opened.forEach(KvTier::close);
            throw e;
        }
    }

    /**
     * Opens a fresh set of the tiers asked for (disk first), for one engine to own: commands that start engine
     * after engine (the benchmark suite) call it once per engine, closing each engine before the next opens the
     * same disk directory. Empty when no tier was asked for. Checks the options first and closes what it opened
     * if a later tier cannot be opened.
     *
     * @throws IllegalArgumentException naming the option that is wrong, or the directory or URI that cannot be used
     */
    public List<KvTier> open() {
        check();
        List<KvTier> opened = new ArrayList<>();
        try {
            if (diskDirectory != null) {
                opened.add(DiskKvTier.open(diskDirectory, diskBytes()));
            }
            if (redisUri != null) {
                opened.add(RedisKvTier.connect(redisUri));
            }
            return opened;
        } catch (RuntimeException e) {
            opened.forEach(KvTier::close);
            throw e;
        }
    }

    /**
     * Checks the options together without opening anything, so that a command can refuse a bad combination before
     * it starts work.
     *
     * @throws IllegalArgumentException naming the option that is wrong
     */
    public void check() {
        if (diskBytes != null && diskDirectory == null) {
            throw new IllegalArgumentException("--kv-disk-bytes needs --kv-disk");
        }
        if (diskBytes != null && diskBytes <= 0) {
            throw new IllegalArgumentException("--kv-disk-bytes must be positive, got " + diskBytes);
        }
        if (diskDirectory != null && Files.exists(diskDirectory) && !Files.isDirectory(diskDirectory)) {
            throw new IllegalArgumentException("--kv-disk " + diskDirectory + " is not a directory");
        }
        if (redisUri != null) {
            try {
                RedisTierAddress.parse(redisUri);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("--kv-redis: " + e.getMessage(), e);
            }
        }
    }

    /**
     * The tiers asked for, one line each in the order they are asked, for reports: the disk directory with its
     * budget, the Redis address without credentials. Empty when none.
     */
    public List<String> describe() {
        List<String> tiers = new ArrayList<>();
        if (diskDirectory != null) {
            tiers.add("disk " + diskDirectory.toAbsolutePath() + " (" + diskBytes() + " bytes)");
        }
        if (redisUri != null) {
            tiers.add("redis " + RedisTierAddress.parse(redisUri).display());
        }
        return tiers;
    }

    private long diskBytes() {
        return diskBytes == null ? DEFAULT_DISK_BYTES : diskBytes;
    }
}
