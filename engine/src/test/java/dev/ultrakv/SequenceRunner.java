package dev.ultrakv;

import dev.ultrakv.kvcache.KvCacheManager;
import dev.ultrakv.model.ForwardState;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.StopReason;
import dev.ultrakv.sampling.NonFiniteLogitsException;
import dev.ultrakv.sampling.Sampler;

import java.util.Arrays;

/**
 * Runs one sequence alone from prompt to stop over the KV cache: acquire its cached prefix, prefill only what is
 * not cached, decode as llama2.c's run.c does (stop at BOS or EOS, at {@code maxNewTokens}, or at the end of the
 * context), then give its blocks to the cache. The engine batches sequences in its step loop instead; this is
 * the one-at-a-time reference that tests compare cached and batched runs with (test sources only).
 *
 * <p>Not thread-safe: one thread owns it with the cache manager and the forward state.
 */
final class SequenceRunner {
    /** Receives the logits from which each generated token is sampled (tests compare cached and fresh runs). */
    @FunctionalInterface
    interface LogitsListener {
        void onLogits(int step, float[] logits);
    }

    /** What one sequence produced. */
    record Outcome(int[] promptTokens, int[] generated, StopReason stopReason, int cachedTokens,
                   boolean fullHit, long firstTokenNanoTime) {
    }

    /** Room for generated tokens at first; the array doubles as needed. */
    private static final int INITIAL_TOKENS = 256;

    private final LlamaModel model;
    private final KvCacheManager cache;
    private final ForwardState state;

    SequenceRunner(LlamaModel model, KvCacheManager cache) {
        this(model, cache, LlamaModel.DEFAULT_PREFILL_CHUNK);
    }

    /** A runner whose prefill passes hold at most {@code prefillChunk} rows (tests: 1 isolates every row). */
    SequenceRunner(LlamaModel model, KvCacheManager cache, int prefillChunk) {
        this.model = model;
        this.cache = cache;
        this.state = model.newState(prefillChunk);
    }

    /** The most tokens a prompt of {@code promptTokens} can generate within the model's context. */
    static int cappedNewTokens(int contextLength, int promptTokens, int maxNewTokens) {
        return Math.min(maxNewTokens, contextLength - promptTokens + 1);
    }

    /**
     * Generates a continuation of {@code prompt} (BOS included, at most the context length).
     *
     * @param maxNewTokens at least 1
     * @param listener     told the logits of each sampling step; may be null
     */
    Outcome run(int[] prompt, int maxNewTokens, Sampler sampler, LogitsListener listener) {
        int context = model.config().contextLength();
        int newTokens = cappedNewTokens(context, prompt.length, maxNewTokens);
        KvCacheManager.Sequence sequence = cache.acquire(prompt, newTokens);
        try {
            // Grown as tokens come: newTokens may be near 2^31 when both the context and the request are huge.
            int[] tokens = Arrays.copyOf(prompt, (int) Math.min((long) prompt.length + newTokens,
                    prompt.length + INITIAL_TOKENS));
            int from = sequence.computeFrom();
            float[] logits = model.prefill(state, prompt, from, prompt.length, from, sequence.store());
            cache.compact(sequence);
            int written = prompt.length;
            int count = 0;
            long firstToken = 0;
            StopReason reason = StopReason.MAX_TOKENS;
            int bos = model.tokenizer().bosId();
            int eos = model.tokenizer().eosId();
            while (true) {
                if (listener != null) {
                    listener.onLogits(count, logits);
                }
                int next;
                try {
                    next = sampler.sample(logits, 0);
                } catch (NonFiniteLogitsException e) {
                    throw e.at(model.name(), written - 1);
                }
                if (count == 0) {
                    firstToken = System.nanoTime();
                }
                if (next == bos || next == eos) {
                    reason = StopReason.END_OF_SEQUENCE;
                    break;
                }
                if (prompt.length + count == tokens.length) {
                    tokens = Arrays.copyOf(tokens, (int) Math.min((long) prompt.length + newTokens,
                            2L * tokens.length));
                }
                tokens[prompt.length + count++] = next;
                if (count == newTokens) {
                    if (maxNewTokens > newTokens) {
                        reason = StopReason.CONTEXT_FULL;
                    }
                    break;
                }
                logits = model.decode(state, next, written, sequence.store());
                written++;
                cache.compact(sequence);
            }
            cache.release(sequence, tokens, written);
            return new Outcome(prompt, Arrays.copyOfRange(tokens, prompt.length, prompt.length + count), reason,
                    sequence.cachedTokens(), sequence.isFullHit(), firstToken);
        } catch (RuntimeException | Error e) {
            cache.abort(sequence);
            throw e;
        }
    }

}
