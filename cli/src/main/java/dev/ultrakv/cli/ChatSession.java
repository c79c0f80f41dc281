package dev.ultrakv.cli;

import dev.ultrakv.EngineStats;
import dev.ultrakv.Request;
import dev.ultrakv.RequestResult;
import dev.ultrakv.UltraAdaptiveKVCacheEngine;
import dev.ultrakv.chat.ChatFormat;
import dev.ultrakv.chat.ChatMessage;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.function.Consumer;

/**
 * A chat with a model through an engine: the history, rendered whole each turn with the model's chat format and
 * run as one request. The engine's prefix index still holds the blocks of the previous turns' prompts, so each
 * turn computes only what is new ({@link Reply#cachedTokens()} says how much was reused).
 */
final class ChatSession {
    private final UltraAdaptiveKVCacheEngine engine;
    private final ChatFormat format;
    private final ChatMessage system;
    private final Settings settings;
    /** The most positions a request may take: the model's context or what the cache gives one request. */
    private final int positionLimit;
    private final List<ChatMessage> history = new ArrayList<>();
    private final Object lock = new Object();
    /** The reply being generated, null between replies; guarded by {@link #lock}. */
    private CompletableFuture<RequestResult> inFlight;
    private int turns;

    /** How replies are sampled. */
    record Settings(int maxTokens, float temperature, float topP, int topK, long seed) {
    }

    /**
     * One reply.
     *
     * @param text         what the model said (so far, when cancelled)
     * @param promptTokens tokens of the rendered chat the reply continued
     * @param cachedTokens of those, tokens the KV cache's prefix index already held
     * @param result       the engine's result; null when the reply was cancelled
     */
    record Reply(String text, int promptTokens, int cachedTokens, RequestResult result) {
        boolean cancelled() {
            return result == null;
        }
    }

    /**
     * A chat with the model of {@code engine}.
     *
     * @param system a system message put first in every render, or null
     */
    ChatSession(UltraAdaptiveKVCacheEngine engine, String system, Settings settings) {
        this.engine = engine;
        this.format = engine.chatFormat();
        this.system = system == null ? null : new ChatMessage("system", system);
        this.settings = settings;
        EngineStats stats = engine.getStats();
        long cachePositions = (long) (stats.blocksUsed() + stats.blocksFree() - 1) * engine.config().blockSize();
        this.positionLimit = (int) Math.min(engine.modelInfo().contextLength(), cachePositions);
    }

    /** The messages so far (the system message first, when there is one). */
    List<ChatMessage> messages() {
        List<ChatMessage> all = new ArrayList<>(history.size() + 1);
        if (system != null) {
            all.add(system);
        }
        all.addAll(history);
        return all;
    }

    /** Forgets the history (the system message stays). */
    void reset() {
        history.clear();
    }

    /**
     * Adds the user's {@code line} to the chat and generates the reply, telling {@code stream} its text as it
     * comes. The reply joins the history, a cancelled one with the text it had.
     *
     * @throws IllegalArgumentException when the chat no longer fits the model's context (the line is not kept)
     *                                  or the template refuses it
     */
    Reply reply(String line, Consumer<String> stream) {
        history.add(new ChatMessage("user", line));
        int[] prompt;
        try {
            // The template writes its special tokens (<|im_start|>) as text: tokenizePrompt reads them as tokens.
            prompt = engine.tokenizePrompt(format.render(messages(), true));
            if (prompt.length >= positionLimit) {
                throw new IllegalArgumentException("the chat has " + prompt.length + " tokens, no room for a reply"
                        + " within " + positionLimit + " positions; /reset starts over");
            }
        } catch (IllegalArgumentException e) {
            history.removeLast();
            throw e;
        }
        StringBuilder text = new StringBuilder();
        Request request = Request.builder().promptTokens(prompt)
                .maxNewTokens(Math.min(settings.maxTokens(), positionLimit - prompt.length))
                .temperature(settings.temperature()).topP(settings.topP()).topK(settings.topK())
                .seed(settings.seed() + turns++).build();
        CompletableFuture<RequestResult> future;
        synchronized (lock) {
            future = engine.processRequest(request, token -> {
                synchronized (lock) {
                    if (inFlight == null || inFlight.isCancelled()) {
                        return;  // cancelled: tokens still on their way are not shown
                    }
                    text.append(token.text());
                }
                stream.accept(token.text());
            });
            inFlight = future;
        }
        RequestResult result = null;
        try {
            result = future.join();
        } catch (CancellationException e) {
            // Ctrl-C: the reply ends here, the chat goes on.
        } catch (CompletionException e) {
            history.removeLast();
            throw e.getCause() instanceof RuntimeException cause ? cause : e;
        } finally {
            synchronized (lock) {
                inFlight = null;
            }
        }
        String said;
        synchronized (lock) {
            said = result != null ? result.text() : text.toString();
        }
        history.add(new ChatMessage("assistant", said));
        int cached = result != null ? result.cachedPromptTokens() : 0;
        return new Reply(said, prompt.length, cached, result);
    }

    /**
     * Stops the reply being generated, if any (Ctrl-C); safe from any thread.
     *
     * @return whether a reply was stopped
     */
    boolean cancelReply() {
        synchronized (lock) {
            return inFlight != null && inFlight.cancel(true);
        }
    }
}
