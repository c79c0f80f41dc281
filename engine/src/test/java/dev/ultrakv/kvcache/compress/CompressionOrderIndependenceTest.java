package dev.ultrakv.kvcache.compress;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.junit.jupiter.api.Assertions.assertEquals;

/** The store reports rows from several threads in any order: the selections must not depend on it. */
class CompressionOrderIndependenceTest {
    private static final int LAYERS = 2;
    private static final int HEADS = 4;
    private static final int KV_HEADS = 2;
    private static final int PROMPT = 48;
    private static final int GENERATED = 24;
    private static final int THREADS = 4;

    private record Observation(int layer, int head, int query, float[] row) {
    }

    @ParameterizedTest
    @EnumSource(value = CompressionMethod.class, names = {"H2O", "SNAPKV"})
    void shuffledConcurrentObservationsGiveIdenticalSelections(CompressionMethod method) throws Exception {
        var random = new SplittableRandom(17);
        List<Observation> prompt = observations(random, 0, PROMPT);
        int keep = PROMPT / 3;
        List<Observation> generated = observations(random, keep, keep + GENERATED);

        String reference = run(method, prompt, generated, null);
        try (ExecutorService pool = Executors.newFixedThreadPool(THREADS)) {
            for (long seed = 1; seed <= 4; seed++) {
                assertEquals(reference, run(method, prompt, generated, new Shuffler(pool, seed)), "seed " + seed);
            }
        }
    }

    /** Observes the prompt, compacts, observes generated queries; returns every selection and vote, as text. */
    private static String run(CompressionMethod method, List<Observation> prompt, List<Observation> generated,
                              Shuffler shuffler) throws Exception {
        var compressor = KvCompressor.create(method, LAYERS, HEADS, KV_HEADS, PROMPT);
        observe(compressor, prompt, shuffler);
        var selections = new StringBuilder();
        for (int keep = 1; keep <= PROMPT; keep++) {
            selections.append(Arrays.deepToString(compressor.select(PROMPT, keep)));
        }
        int keep = PROMPT / 3;
        compressor.compacted(compressor.select(PROMPT, keep), PROMPT);
        observe(compressor, generated, shuffler);
        int entries = keep + GENERATED;
        for (int k = 1; k <= entries; k++) {
            selections.append(Arrays.deepToString(compressor.select(entries, k)));
        }
        for (int l = 0; l < LAYERS; l++) {
            for (int g = 0; g < KV_HEADS; g++) {
                selections.append(Arrays.toString(((SelectingCompressor) compressor).votes(l, g, entries)));
            }
        }
        return selections.toString();
    }

    private static void observe(KvCompressor compressor, List<Observation> observations, Shuffler shuffler)
            throws Exception {
        if (shuffler == null) {
            observations.forEach(o -> compressor.observe(o.layer, o.head, o.query, o.row, o.query + 1));
            return;
        }
        shuffler.apply(compressor, observations);
    }

    /** Every head's row for queries at entries {@code [from, to)}. */
    private static List<Observation> observations(SplittableRandom random, int from, int to) {
        List<Observation> all = new ArrayList<>();
        for (int q = from; q < to; q++) {
            for (int l = 0; l < LAYERS; l++) {
                for (int h = 0; h < HEADS; h++) {
                    all.add(new Observation(l, h, q, AttentionRows.random(random, q + 1)));
                }
            }
        }
        return all;
    }

    /** Deals a seeded shuffle of the observations to the pool's threads, which report them concurrently. */
    private record Shuffler(ExecutorService pool, long seed) {
        void apply(KvCompressor compressor, List<Observation> observations) throws Exception {
            List<Observation> shuffled = new ArrayList<>(observations);
            var random = new SplittableRandom(seed);
            for (int i = shuffled.size() - 1; i > 0; i--) {
                int j = random.nextInt(i + 1);
                shuffled.set(i, shuffled.set(j, shuffled.get(i)));
            }
            List<Callable<Void>> tasks = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                int first = t;
                tasks.add(() -> {
                    for (int i = first; i < shuffled.size(); i += THREADS) {
                        Observation o = shuffled.get(i);
                        compressor.observe(o.layer, o.head, o.query, o.row, o.query + 1);
                    }
                    return null;
                });
            }
            for (Future<Void> done : pool.invokeAll(tasks)) {
                done.get();
            }
        }
    }
}
