package dev.ultrakv.quality;

import dev.ultrakv.kvcache.KvCacheManager;
import dev.ultrakv.kvcache.KvStore;
import dev.ultrakv.model.ForwardState;
import dev.ultrakv.model.LlamaModel;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.UnaryOperator;

/**
 * Sequences of several caches run side by side through shared forward passes: each sequence (a <em>lane</em>) is
 * one or more rows of every pass, with its own cache and store. Prefill runs every lane's prompt; a decode step
 * runs one token for each lane asked. After the prompt and after every decode step each lane's cache
 * {@linkplain KvCacheManager#compact compacts} the lane, as the engine's sequence runner does.
 *
 * <h2>Notes</h2>
 * <b>Why lock step.</b> The model's kernels sum in one order whatever the batch (see BatchInvarianceTest), so a
 * lane's logits are those it would get alone. Running the reference and the candidates in the same passes makes
 * them see the same compiled code too: the JIT changes the order in which the Vector API adds lanes when it
 * compiles a kernel, so two runs separated in time may differ in the last bits, while two rows of one pass do
 * not. A candidate equal to the reference thus gives a divergence of exactly 0. It also reads each weight matrix
 * once per pass for every lane instead of once per lane.
 *
 * <p><b>Rows.</b> A pass holds at most {@link ForwardState#maxBatch()} rows, a lane's rows in position order; a
 * prompt is cut into equal slices per lane so that every pass is full.
 *
 * <p>Not thread-safe. {@link #close()} aborts every lane's sequence: nothing run here is cached.
 */
final class LockStepBatch implements AutoCloseable {
    private final LlamaModel model;
    private final ForwardState state;
    private final int vocabulary;
    private final List<Lane> lanes = new ArrayList<>();
    private final int[] rowTokens;
    private final int[] rowPositions;
    private final KvStore[] rowStores;
    private final Lane[] rowLanes;
    private final boolean[] rowWantsLogits;
    private int rows;

    /** One sequence: its cache, the store the model sees, the logits of its last row and the next position. */
    static final class Lane {
        private final KvCacheManager cache;
        private final KvCacheManager.Sequence sequence;
        private final KvStore store;
        private final int[] prompt;
        private final float[] logits;
        private int nextPosition;

        private Lane(KvCacheManager cache, KvCacheManager.Sequence sequence, KvStore store, int[] prompt,
                     int vocabulary) {
            this.cache = cache;
            this.sequence = sequence;
            this.store = store;
            this.prompt = prompt;
            this.logits = new float[vocabulary];
            this.nextPosition = sequence.computeFrom();
        }

        /** The logits of the lane's last row run: the distribution of the token at {@link #nextPosition()}. */
        float[] logits() {
            return logits;
        }

        /** The position the next decode step writes. */
        int nextPosition() {
            return nextPosition;
        }
    }

    LockStepBatch(LlamaModel model, ForwardState state) {
        this.model = model;
        this.state = state;
        this.vocabulary = model.config().vocabularySize();
        int max = state.maxBatch();
        rowTokens = new int[max];
        rowPositions = new int[max];
        rowStores = new KvStore[max];
        rowLanes = new Lane[max];
        rowWantsLogits = new boolean[max];
    }

    /**
     * Acquires a sequence of {@code cache} for {@code prompt} with room for {@code maxNewTokens} tokens (see
     * {@link KvCacheManager#acquire}) and adds it as a lane whose model reads and writes
     * {@code view.apply(store)} (tests perturb a store this way; the harness passes the identity).
     */
    Lane add(KvCacheManager cache, int[] prompt, int maxNewTokens, UnaryOperator<KvStore> view) {
        KvCacheManager.Sequence sequence = cache.acquire(prompt, maxNewTokens);
        Lane lane;
        try {
            lane = new Lane(cache, sequence, view.apply(sequence.store()), prompt, vocabulary);
        } catch (RuntimeException e) {
            cache.abort(sequence);
            throw e;
        }
        lanes.add(lane);
        return lane;
    }

    /** Runs every lane's prompt from the position its cache asks for, then compacts every lane. */
    void prefill() {
        int slice = Math.max(1, state.maxBatch() / Math.max(1, lanes.size()));
        boolean pending = true;
        while (pending) {
            pending = false;
            for (Lane lane : lanes) {
                int end = Math.min(lane.prompt.length, lane.nextPosition + slice);
                for (int p = lane.nextPosition; p < end; p++) {
                    addRow(lane, lane.prompt[p], p, p == lane.prompt.length - 1);
                }
                lane.nextPosition = end;
                pending |= end < lane.prompt.length;
            }
        }
        flush();
        for (Lane lane : lanes) {
            lane.cache.compact(lane.sequence);
        }
    }

    /** Runs {@code tokens[i]} at the next position of {@code stepped.get(i)}, then compacts those lanes. */
    void decode(List<Lane> stepped, int[] tokens) {
        for (int i = 0; i < stepped.size(); i++) {
            Lane lane = stepped.get(i);
            addRow(lane, tokens[i], lane.nextPosition++, true);
        }
        flush();
        for (Lane lane : stepped) {
            lane.cache.compact(lane.sequence);
        }
    }

    private void addRow(Lane lane, int token, int position, boolean wantsLogits) {
        if (rows == rowTokens.length) {
            flush();
        }
        rowTokens[rows] = token;
        rowPositions[rows] = position;
        rowStores[rows] = lane.store;
        rowLanes[rows] = lane;
        rowWantsLogits[rows] = wantsLogits;
        rows++;
    }

    /** Runs the rows gathered and copies the logits asked for to their lanes. */
    private void flush() {
        if (rows == 0) {
            return;
        }
        int[] logitRows = new int[rows];
        int wanted = 0;
        for (int r = 0; r < rows; r++) {
            if (rowWantsLogits[r]) {
                logitRows[wanted++] = r;
            }
        }
        logitRows = Arrays.copyOf(logitRows, wanted);
        model.forward(state, rows, rowTokens, rowPositions, rowStores, logitRows);
        for (int j = 0; j < wanted; j++) {
            System.arraycopy(state.logits(), j * vocabulary, rowLanes[logitRows[j]].logits, 0, vocabulary);
        }
        Arrays.fill(rowStores, 0, rows, null);
        Arrays.fill(rowLanes, 0, rows, null);
        rows = 0;
    }

    /** Aborts every lane's sequence, caching nothing. */
    @Override
    public void close() {
        for (Lane lane : lanes) {
            lane.cache.abort(lane.sequence);
        }
        lanes.clear();
    }
}
