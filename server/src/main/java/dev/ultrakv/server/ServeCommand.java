package dev.ultrakv.server;

import dev.ultrakv.CacheStrategy;
import dev.ultrakv.KVCacheConfig;
import dev.ultrakv.ModelSource;
import dev.ultrakv.UltraAdaptiveKVCacheEngine;
import dev.ultrakv.kvcache.compress.CompressionMethod;
import dev.ultrakv.scheduler.SchedulerConfig;
import dev.ultrakv.tensor.Parallel;
import java.net.BindException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code ultrakv serve}: the OpenAI-compatible server over an engine built from the options, until SIGTERM or
 * Ctrl-C, which drain it (stop accepting, let the requests in flight finish within {@code --drain-timeout},
 * close the engine) and end the process with exit code 0.
 */
@Command(name = "serve", mixinStandardHelpOptions = true, sortOptions = false,
        description = {"Serve a model over HTTP with the OpenAI API (completions, chat, streaming), /metrics and a"
                + " page at /.", "SIGTERM or Ctrl-C drains: in-flight requests finish, then the server exits 0."})
public final class ServeCommand implements Callable<Integer> {
    @Option(names = "--model", paramLabel = "PATH",
            description = "A GGUF file or a llama2.c checkpoint (default: the embedded stories260K).")
    Path model;

    @Option(names = "--tokenizer", paramLabel = "PATH",
            description = "The tokenizer.bin of a llama2.c checkpoint (default: tokenizer.bin beside it).")
    Path tokenizer;

    @Option(names = "--host", paramLabel = "ADDRESS", defaultValue = ServerConfig.DEFAULT_HOST,
            description = "The address to listen on (default: ${DEFAULT-VALUE}, this machine only).")
    String host;

    @Option(names = "--port", paramLabel = "N", defaultValue = "8080",
            description = "The port (default: ${DEFAULT-VALUE}; 0 for any free one).")
    int port;

    @Option(names = "--api-key", paramLabel = "KEY", defaultValue = "${env:ULTRAKV_API_KEY}",
            description = "Require 'Authorization: Bearer KEY' (default: $ULTRAKV_API_KEY, else no key).")
    String apiKey;

    @Option(names = "--max-body-bytes", paramLabel = "N", defaultValue = "1048576",
            description = "The largest request body accepted; larger ones get 413 (default: ${DEFAULT-VALUE}).")
    long maxBodyBytes;

    @Option(names = "--drain-timeout", paramLabel = "SECONDS", defaultValue = "25",
            description = "How long SIGTERM waits for in-flight requests (default: ${DEFAULT-VALUE}).")
    double drainSeconds;

    @Option(names = "--cache-strategy", paramLabel = "S", defaultValue = "ADAPTIVE",
            description = "Eviction of cached blocks: LRU, LFU or ADAPTIVE (default: ${DEFAULT-VALUE}).")
    CacheStrategy strategy;

    @Option(names = "--cache-tokens", paramLabel = "N",
            description = "KV cache size in tokens (default: " + KVCacheConfig.DEFAULT_MAX_TOKENS + ").")
    Integer cacheTokens;

    @Option(names = "--cache-bytes", paramLabel = "N",
            description = "KV cache size in bytes, instead of --cache-tokens.")
    Long cacheBytes;

    @Option(names = "--block-size", paramLabel = "N",
            description = "Tokens per KV block, a power of two (default: " + KVCacheConfig.DEFAULT_BLOCK_SIZE + ").")
    Integer blockSize;

    @Option(names = "--quantization-bits", paramLabel = "B",
            description = "Store KV blocks as 8, 4 or 2-bit integers (default: float32).")
    Integer quantizationBits;

    @Option(names = "--compression", paramLabel = "METHOD",
            description = "Compress each sequence's KV: STREAMING, H2O or SNAPKV (default: none).")
    CompressionMethod compression;

    @Option(names = "--compression-ratio", paramLabel = "R",
            description = "Share of positions compression keeps, in (0, 1] (default: "
                    + KVCacheConfig.DEFAULT_COMPRESSION_RATIO + ").")
    Double compressionRatio;

    @Option(names = "--max-queued", paramLabel = "N",
            description = "Requests that may wait; more get 429 (default: "
                    + SchedulerConfig.DEFAULT_MAX_QUEUED_REQUESTS + ").")
    Integer maxQueued;

    @Option(names = "--max-running", paramLabel = "N",
            description = "Requests that run together (default: " + SchedulerConfig.DEFAULT_MAX_RUNNING_SEQUENCES
                    + ").")
    Integer maxRunning;

    @Option(names = "--step-tokens", paramLabel = "N",
            description = "Tokens one step computes at most (default: " + SchedulerConfig.DEFAULT_STEP_TOKENS + ").")
    Integer stepTokens;

    @Option(names = "--threads", paramLabel = "N", description = "Kernel threads (default: one per core).")
    Integer threads;

    @Option(names = "--ageing-interval", paramLabel = "SECONDS",
            description = "Waiting this long raises a request's priority one level (default: "
                    + "10).")
    Double ageingSeconds;

    @CommandLine.Mixin
    KvTierOptions tiers = new KvTierOptions();

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    /** Runs {@code serve} on its own (the server's tests start it so in a child JVM). */
    public static void main(String[] args) {
        CommandLine command = new CommandLine(new ServeCommand());
        command.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("ultrakv: " + e.getMessage());
            return 1;
        });
        System.exit(command.execute(args));
    }

    /** The KV cache the options describe. */
    KVCacheConfig cacheConfig() {
        if (model == null && tokenizer != null) {
            throw new IllegalArgumentException("--tokenizer needs --model (the embedded model has its own)");
        }
        KVCacheConfig.Builder builder = KVCacheConfig.builder().cacheStrategy(strategy)
                .model(model == null ? ModelSource.embedded() : tokenizer == null ? ModelSource.file(model)
                        : ModelSource.file(model, tokenizer));
        if (cacheTokens != null) {
            builder.maxTokens(cacheTokens);
        }
        if (cacheBytes != null) {
            builder.maxMemoryBytes(cacheBytes);
        }
        if (blockSize != null) {
            builder.blockSize(blockSize);
        }
        if (quantizationBits != null) {
            builder.useQuantization(true).quantizationBits(quantizationBits);
        }
        if (compression != null) {
            builder.useCompression(true).compressionMethod(compression);
        }
        if (compressionRatio != null) {
            if (compression == null) {
                throw new IllegalArgumentException("--compression-ratio needs --compression");
            }
            builder.compressionRatio(compressionRatio);
        }
        return tiers.build(builder);
    }

    /** The scheduling the options describe. */
    SchedulerConfig schedulerConfig() {
        SchedulerConfig.Builder builder = SchedulerConfig.builder();
        if (maxQueued != null) {
            builder.maxQueuedRequests(maxQueued);
        }
        if (maxRunning != null) {
            builder.maxRunningSequences(maxRunning);
        }
        if (stepTokens != null) {
            builder.stepTokens(stepTokens);
        }
        if (ageingSeconds != null) {
            builder.ageingInterval(seconds("--ageing-interval", ageingSeconds));
        }
        return builder.build();
    }

    private static Duration seconds(String option, double seconds) {
        if (!(seconds >= 0) || seconds > 1e9) {
            throw new IllegalArgumentException(option + " must be a non-negative number of seconds, got " + seconds);
        }
        return Duration.ofNanos((long) (seconds * 1e9));
    }

    @Override
    public Integer call() throws Exception {
        ServerConfig config;
        try {
            config = new ServerConfig(host, port, apiKey == null || apiKey.isEmpty() ? null : apiKey, maxBodyBytes,
                    seconds("--drain-timeout", drainSeconds));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--" + e.getMessage().replace("maxBodyBytes", "max-body-bytes"), e);
        }
        SchedulerConfig scheduling = schedulerConfig();
        if (threads != null) {
            Parallel.setThreadsFromOption("--threads", threads);
        }
        KVCacheConfig cache = cacheConfig(); // last: it opens the KV tiers, which the engine then owns
        var err = spec.commandLine().getErr();
        if (!config.loopback() && config.apiKey() == null) {
            err.println("ultrakv: warning: listening on " + host + " without --api-key: anyone who can reach this"
                    + " address can use the model");
            err.flush();
        }
        UltraKvServer server;
        try {
            server = UltraKvServer.start(config, () -> new UltraAdaptiveKVCacheEngine(cache, scheduling));
        } catch (RuntimeException e) {
            for (Throwable c = e; c != null; c = c.getCause()) {
                if (c instanceof BindException) {
                    throw new IllegalArgumentException("cannot listen on " + host + ":" + port + ": "
                            + c.getMessage(), e);
                }
            }
            throw e;
        }
        Runtime.getRuntime().addShutdownHook(Thread.ofPlatform().name("ultrakv-drain").unstarted(() -> {
            server.drain(config.drainTimeout());
            System.err.println("ultrakv: drained and stopped");
            System.err.flush();
            System.out.flush();
            // A JVM ended by SIGTERM exits 143 even when its hooks finish; a clean drain is a clean exit.
            Runtime.getRuntime().halt(0);
        }));
        err.println("ultrakv: serving " + server.engine().modelInfo().name() + " on " + server.baseUrl()
                + "/ (SIGTERM or Ctrl-C drains and stops)");
        err.flush();
        server.awaitStopped();
        return 0;
    }
}
