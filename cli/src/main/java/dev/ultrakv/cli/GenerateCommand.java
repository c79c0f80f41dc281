package dev.ultrakv.cli;

import dev.ultrakv.KVCacheConfig;
import dev.ultrakv.ModelInfo;
import dev.ultrakv.Request;
import dev.ultrakv.RequestResult;
import dev.ultrakv.UltraAdaptiveKVCacheEngine;
import dev.ultrakv.model.StopReason;
import dev.ultrakv.sampling.NonFiniteLogitsException;
import dev.ultrakv.server.KvTierOptions;
import dev.ultrakv.tensor.Parallel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.CompletionException;
import java.util.logging.Level;
import java.util.logging.Logger;
import java.util.concurrent.Callable;

/**
 * {@code ultrakv generate}: prints the decoded prompt followed by the continuation and a newline on stdout,
 * byte for byte as llama2.c's run.c prints it; timings go to stderr. It runs through the engine, as every request
 * does: one generation path for the CLI, the server and the benchmarks.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text from a prompt (stdout: prompt + continuation; stderr: timings).")
final class GenerateCommand implements Callable<Integer> {
    /**
     * Most KV positions one generation holds: 128K, the longest context of the models people run; past it a
     * generation stops as if it met {@code --max-tokens}.
     */
    static final int MAX_POSITIONS = 131_072;
    /**
     * The engine's log: generate reports a failed request itself, in one line, so the engine's record of the
     * fault would only repeat it. Held here: java.util.logging keeps loggers weakly.
     */
    private static final Logger ENGINE_LOG = Logger.getLogger("dev.ultrakv");

    @Mixin
    KvTierOptions tiers = new KvTierOptions();

    @Mixin
    ModelOptions modelOptions;

    @Option(names = {"--prompt", "-i"}, defaultValue = "", description = "The prompt (default: empty).")
    String prompt;

    @Option(names = {"--max-tokens", "-n"}, defaultValue = "256",
            description = "Most new tokens to generate (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Mixin
    SamplingOptions sampling;

    @Option(names = {"--seed", "-s"}, description = "Random seed (default: the current time).")
    Long seed;

    @Option(names = "--threads", paramLabel = "N", description = "Kernel threads (default: one per core).")
    Integer threads;

    @Override
    public Integer call() {
        if (maxTokens < 0) {
            throw new IllegalArgumentException("--max-tokens must be >= 0, got " + maxTokens);
        }
        sampling.validate();
        if (threads != null) {
            Parallel.setThreadsFromOption("--threads", threads);
        }
        ENGINE_LOG.setLevel(Level.OFF);
        long effectiveSeed = seed != null ? seed : System.currentTimeMillis() / 1000;
        // The cache holds the prompt (at most a token per byte, with BOS and SentencePiece's dummy prefix) and the
        // generation, up to MAX_POSITIONS; the engine keeps one block more for copying a cached prefix.
        long positions = Math.min(MAX_POSITIONS, prompt.getBytes(StandardCharsets.UTF_8).length + 2L + maxTokens);
        int blockSize = KVCacheConfig.DEFAULT_BLOCK_SIZE;
        KVCacheConfig config = tiers.build(KVCacheConfig.builder().model(modelOptions.source())
                .maxTokens(Math.toIntExact(positions + 2L * blockSize)));
        PrintStream err = System.err;
        try (var engine = new UltraAdaptiveKVCacheEngine(config)) {
            ModelInfo info = engine.modelInfo();
            ModelOptions.warnIfBeyondTraining(info);
            int[] promptTokens = engine.tokenizePrompt(prompt);
            int context = info.contextLength();
            if (promptTokens.length > context) {  // fail before the prompt is printed
                throw new IllegalArgumentException("the prompt has " + promptTokens.length + " tokens, more than"
                        + " the context length " + context);
            }
            OutputStream out = System.out;
            for (int i = 1; i < promptTokens.length; i++) {
                write(out, engine.printedBytes(promptTokens[i - 1], promptTokens[i]));
            }
            flush(out);
            RequestResult result = null;
            try {
                if (maxTokens > 0) {
                    result = generate(engine, promptTokens, effectiveSeed, out);
                }
            } finally {
                // The text so far ends its line, so that an error follows on a line of its own.
                write(out, new byte[] {'\n'});
                flush(out);
            }
            if (result != null && result.stopReason() == StopReason.CONTEXT_FULL) {
                err.printf("ultrakv: stopped after %d new tokens: the model's context length of %d tokens is"
                        + " full%n", result.generatedTokens(), context);
            }
            err.println(timings(promptTokens.length, result));
        }
        return 0;
    }

    /** Generates through the engine, printing each token as run.c does as it comes. */
    private RequestResult generate(UltraAdaptiveKVCacheEngine engine, int[] promptTokens, long effectiveSeed,
                                   OutputStream out) {
        // Within the cache: the engine refuses a request longer than the cache can give it.
        long room = MAX_POSITIONS - promptTokens.length + 1L;
        int[] previous = {promptTokens[promptTokens.length - 1]};
        Request request = Request.builder().promptTokens(promptTokens).maxNewTokens((int) Math.min(maxTokens, room))
                .temperature(sampling.temperature).topP(sampling.topP).topK(sampling.topK).seed(effectiveSeed)
                .build();
        try {
            return engine.processRequest(request, token -> {
                write(out, engine.printedBytes(previous[0], token.tokenId()));
                flush(out);
                previous[0] = token.tokenId();
            }).join();
        } catch (CompletionException e) {
            throw userFacing(e.getCause(), engine.modelInfo().name());
        }
    }

    /**
     * The fault a user should read. A request the model's own values failed (NaN logits, a value the KV cache
     * cannot store) is a problem of the model file, told in one line with its name; anything else is a bug.
     */
    private static RuntimeException userFacing(Throwable cause, String model) {
        Throwable reason = cause.getCause();
        if (reason instanceof NonFiniteLogitsException nonFinite) {
            return nonFinite;
        }
        if (reason instanceof IllegalArgumentException bad) {
            return new IllegalArgumentException("model " + model + ": " + bad.getMessage(), cause);
        }
        if (cause instanceof RuntimeException runtime) {
            return runtime;
        }
        if (cause instanceof Error error) {
            throw error;
        }
        return new IllegalStateException(cause);
    }

    static String timings(int prompt, RequestResult result) {
        int generated = result == null ? 0 : result.generatedTokens();
        long prefillNanos = result == null ? 0 : result.timeToFirstToken().toNanos();
        long decodeNanos = result == null ? 0 : result.latency().toNanos() - prefillNanos;
        // The first generated token comes from the prefill's logits; decode steps produce the rest.
        int decodeSteps = Math.max(0, generated - 1);
        int cached = result == null ? 0 : result.cachedPromptTokens();
        // Tokens found in the KV cache (its memory or a --kv-disk/--kv-redis tier) are not computed again.
        String reused = cached == 0 ? "" : String.format(Locale.ROOT, " (%d from the KV cache)", cached);
        return String.format(Locale.ROOT,
                "prompt: %d tokens%s in %.1f ms (%.1f tokens/s); generation: %d tokens, %d decode steps in %.1f ms"
                        + " (%.1f tokens/s)",
                prompt, reused, prefillNanos / 1e6, rate(prompt, prefillNanos), generated, decodeSteps,
                decodeNanos / 1e6, rate(decodeSteps, decodeNanos));
    }

    private static double rate(int tokens, long nanos) {
        return nanos == 0 ? 0 : tokens / (nanos / 1e9);
    }

    private static void write(OutputStream out, byte[] bytes) {
        try {
            out.write(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException("writing to stdout failed", e);
        }
    }

    private static void flush(OutputStream out) {
        try {
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("writing to stdout failed", e);
        }
    }
}
