package dev.ultrakv.cli;

import dev.ultrakv.KVCacheConfig;
import dev.ultrakv.ModelInfo;
import dev.ultrakv.UltraAdaptiveKVCacheEngine;
import dev.ultrakv.chat.PlainChatFormat;
import dev.ultrakv.server.KvTierOptions;
import dev.ultrakv.tensor.Parallel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * {@code ultrakv chat}: an interactive chat in the terminal, like llama-cli's conversation mode. Each line read
 * from stdin is a user message; the whole history is rendered with the model's chat template (the plain format
 * without one) and the reply streams to stdout. After each reply stderr tells the prompt's tokens and how many
 * the KV cache's prefix index already held: the previous turns are not computed again.
 *
 * <p>{@code /exit} or the end of stdin ends the chat, {@code /reset} forgets the history, and Ctrl-C during a
 * reply stops that reply only (at the prompt it ends the chat, as usual).
 */
@Command(name = "chat", mixinStandardHelpOptions = true,
        description = "Chat with a model in the terminal (stdin: your lines; stdout: the replies, streamed).")
final class ChatCommand implements Callable<Integer> {
    /** The engine's log: a failed reply is told in one line here, so the engine's record would only repeat it. */
    private static final Logger ENGINE_LOG = Logger.getLogger("dev.ultrakv");

    @Mixin
    KvTierOptions tiers = new KvTierOptions();

    @Mixin
    ModelOptions modelOptions;

    @Option(names = "--system", paramLabel = "TEXT", description = "A system message that opens the chat.")
    String system;

    @Option(names = {"--max-tokens", "-n"}, defaultValue = "256",
            description = "Most new tokens of one reply (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Mixin
    SamplingOptions sampling;

    @Option(names = {"--seed", "-s"}, description = "Random seed of the first reply, +1 each turn (default: the"
            + " current time).")
    Long seed;

    @Option(names = "--cache-tokens", paramLabel = "N",
            description = "KV cache size in tokens: the history and the prefixes kept for reuse (default: "
                    + KVCacheConfig.DEFAULT_MAX_TOKENS + ").")
    Integer cacheTokens;

    @Option(names = "--threads", paramLabel = "N", description = "Kernel threads (default: one per core).")
    Integer threads;

    @Override
    public Integer call() {
        if (maxTokens < 1) {
            throw new IllegalArgumentException("--max-tokens must be >= 1, got " + maxTokens);
        }
        if (cacheTokens != null && cacheTokens < 2 * KVCacheConfig.DEFAULT_BLOCK_SIZE) {
            throw new IllegalArgumentException("--cache-tokens must be at least " + 2 * KVCacheConfig.DEFAULT_BLOCK_SIZE
                    + ", got " + cacheTokens);
        }
        sampling.validate();
        if (threads != null) {
            Parallel.setThreadsFromOption("--threads", threads);
        }
        ENGINE_LOG.setLevel(Level.OFF);
        KVCacheConfig config = tiers.build(KVCacheConfig.builder().model(modelOptions.source())
                .maxTokens(cacheTokens != null ? cacheTokens : KVCacheConfig.DEFAULT_MAX_TOKENS));
        PrintStream out = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        PrintStream err = System.err;
        try (var engine = new UltraAdaptiveKVCacheEngine(config)) {
            ModelInfo info = engine.modelInfo();
            ModelOptions.warnIfBeyondTraining(info);
            ChatSession session = new ChatSession(engine, system, new ChatSession.Settings(maxTokens,
                    sampling.temperature, sampling.topP, sampling.topK,
                    seed != null ? seed : System.currentTimeMillis() / 1000));
            err.println("ultrakv: chatting with " + info.name() + " in " + (info.template().isPresent()
                    ? "its own chat template" : "the plain format (" + PlainChatFormat.DESCRIPTION + "); it has"
                    + " no chat template") + ". /exit or end of input ends, /reset forgets the chat, Ctrl-C stops"
                    + " a reply.");
            InterruptHandler ctrlC = InterruptHandler.install(session::cancelReply);
            try {
                converse(session, new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)),
                        out, err);
            } finally {
                ctrlC.uninstall();
            }
        }
        return 0;
    }

    private static void converse(ChatSession session, BufferedReader in, PrintStream out, PrintStream err) {
        while (true) {
            out.print("> ");
            out.flush();
            String line = readLine(in);
            if (line == null || line.strip().equals("/exit")) {
                out.println();
                return;
            }
            if (line.strip().equals("/reset")) {
                session.reset();
                err.println("ultrakv: the chat is forgotten");
                continue;
            }
            if (line.isBlank()) {
                continue;
            }
            ChatSession.Reply reply;
            try {
                reply = session.reply(line, text -> {
                    out.print(text);
                    out.flush();
                });
            } catch (IllegalArgumentException e) {
                err.println("ultrakv: " + e.getMessage());
                continue;
            }
            out.println();
            err.println(usage(reply));
        }
    }

    /** The line stderr shows after a reply: prompt tokens, how many were cached, and the reply's pace. */
    static String usage(ChatSession.Reply reply) {
        String prompt = String.format(Locale.ROOT, "prompt: %d tokens, %d cached", reply.promptTokens(),
                reply.cachedTokens());
        if (reply.cancelled()) {
            return prompt + "; reply stopped (Ctrl-C)";
        }
        long nanos = reply.result().latency().toNanos();
        int generated = reply.result().generatedTokens();
        return prompt + String.format(Locale.ROOT, "; reply: %d tokens in %.1f ms (%.1f tokens/s)", generated,
                nanos / 1e6, nanos == 0 ? 0 : generated / (nanos / 1e9));
    }

    private static String readLine(BufferedReader in) {
        try {
            return in.readLine();
        } catch (IOException e) {
            throw new UncheckedIOException("reading stdin failed", e);
        }
    }
}
