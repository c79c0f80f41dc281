package dev.ultrakv.model;

import dev.ultrakv.kvcache.DenseKvStore;
import dev.ultrakv.kvcache.KvStore;
import dev.ultrakv.sampling.NonFiniteLogitsException;
import dev.ultrakv.sampling.Sampler;

import java.util.Arrays;

/**
 * Generates tokens for one sequence, the way llama2.c's reference program does: the prompt (BOS first) is run
 * as a batch, then each new token is sampled from the last logits and fed back, until the model emits BOS or
 * EOS, {@code maxNewTokens} are produced, or the context is full.
 *
 * <p>With a prompt of P tokens, at most {@code contextLength - P + 1} tokens can be generated: the last one is
 * sampled from the logits at the final position and never run through the model (run.c stops there too).
 */
public final class TextGenerator {

    /** Receives each generated token as soon as it is sampled. */
    @FunctionalInterface
    public interface TokenListener {
        void onToken(int previousToken, int token);
    }

    /** Room for generated tokens at first; the array doubles as needed, so -n 2^31-1 costs nothing up front. */
    private static final int INITIAL_TOKENS = 256;

    private final LlamaModel model;

    public TextGenerator(LlamaModel model) {
        this.model = model;
    }

    /**
     * Checks what {@link #generate} would refuse, so that a caller can fail before printing anything.
     *
     * @throws IllegalArgumentException if the prompt is empty or longer than the context, or maxNewTokens < 0
     */
    public void checkRequest(int[] promptTokens, int maxNewTokens) {
        int context = model.config().contextLength();
        if (promptTokens.length == 0) {
            throw new IllegalArgumentException("the prompt has no tokens (not even BOS)");
        }
        if (promptTokens.length > context) {
            throw new IllegalArgumentException("the prompt has " + promptTokens.length
                    + " tokens, more than the model's context length " + context);
        }
        if (maxNewTokens < 0) {
            throw new IllegalArgumentException("max new tokens must be >= 0, got " + maxNewTokens);
        }
    }

    /**
     * Generates a continuation of {@code promptTokens}.
     *
     * @param promptTokens the prompt, BOS included; at least one token, at most the context length
     * @param maxNewTokens the most tokens to generate, {@code >= 0}
     * @param listener     told of each token as it is produced; may be null
     * @throws IllegalArgumentException if the prompt is empty or longer than the context, or maxNewTokens < 0
     * @throws NonFiniteLogitsException  if the model produces a NaN logit; the message names the model and the
     *                                   position
     */
    public Generation generate(int[] promptTokens, int maxNewTokens, Sampler sampler, TokenListener listener) {
        checkRequest(promptTokens, maxNewTokens);
        LlamaConfig c = model.config();
        int prompt = promptTokens.length;
        // Both the context and maxNewTokens may be huge (a file's context_length, -n 2147483647): the store and
        // the token array grow with the tokens generated instead of being sized by either.
        int capacity = (int) Math.max(prompt, Math.min((long) c.contextLength(), (long) prompt + maxNewTokens));
        KvStore store = new DenseKvStore(c.kvLayout(), capacity);
        ForwardState state = model.newState(Math.min(prompt, LlamaModel.DEFAULT_PREFILL_CHUNK));

        int[] generated = new int[Math.min(maxNewTokens, INITIAL_TOKENS)];
        int count = 0;
        StopReason reason = StopReason.MAX_TOKENS;
        long start = System.nanoTime();
        long prefillNanos = 0;
        if (maxNewTokens > 0) {
            float[] logits = model.prefill(state, promptTokens, 0, prompt, 0, store);
            prefillNanos = System.nanoTime() - start;
            ForwardState decodeState = prompt == 1 ? state : model.newState(1);
            int token = promptTokens[prompt - 1];
            int position = prompt - 1;
            while (true) {
                int next;
                try {
                    next = sampler.sample(logits, 0);
                } catch (NonFiniteLogitsException e) {
                    throw e.at(model.name(), position);
                }
                if (next == model.tokenizer().bosId() || next == model.tokenizer().eosId()) {
                    reason = StopReason.END_OF_SEQUENCE;
                    break;
                }
                if (count == generated.length) {
                    generated = Arrays.copyOf(generated, (int) Math.min(maxNewTokens, 2L * count));
                }
                generated[count++] = next;
                if (listener != null) {
                    listener.onToken(token, next);
                }
                if (count == maxNewTokens) {
                    break;
                }
                position++;
                if (position >= c.contextLength()) {
                    reason = StopReason.CONTEXT_FULL;
                    break;
                }
                token = next;
                logits = model.decode(decodeState, token, position, store);
            }
        }
        long decodeNanos = System.nanoTime() - start - prefillNanos;
        return new Generation(promptTokens.clone(), Arrays.copyOf(generated, count), reason, prefillNanos,
                decodeNanos);
    }
}
