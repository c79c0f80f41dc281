package dev.ultrakv.bench.suite;

import dev.ultrakv.sim.MooncakeTrace;
import dev.ultrakv.sim.TraceRequest;
import dev.ultrakv.sim.Workload;
import dev.ultrakv.sim.Workloads;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The simulator's seeded workloads written as prompts for the engine. Generated outputs are not replayed: the
 * engine generates its own, and a later prompt that quotes a workload's answer (multi-turn chat) finds the
 * earlier prompt cached, not the answer.
 */
final class SuiteWorkloads {
    /** Name of the replayed trace: the Mooncake excerpt shipped with the engine. */
    static final String MOONCAKE = "mooncake-excerpt";
    /**
     * Words per Mooncake hash id: one id stands for a 512-token block, far beyond a small model's context, so it
     * is scaled down to two words; two hashed words also keep unrelated ids from mapping to the same text.
     */
    static final int WORDS_PER_HASH_ID = 2;
    private static final String REPEATS_PREFIX = "repeats(";

    /**
     * The prompts of one workload.
     *
     * @param name    the workload's name
     * @param texts   the prompts that fit the model's context, in order
     * @param skipped prompts left out because they would not fit the context with the tokens to generate
     */
    record Prompts(String name, List<String> texts, int skipped) {
    }

    private SuiteWorkloads() {
    }

    /**
     * The first {@code requests} requests of workload {@code name}, as text.
     *
     * @throws IllegalArgumentException for an unknown name
     */
    static Prompts prompts(SuiteContext context, String name, int requests) {
        String key = name.trim().toLowerCase(Locale.ROOT);
        List<String> texts = new ArrayList<>();
        if (key.equals(MOONCAKE)) {
            List<TraceRequest> trace = MooncakeTrace.excerpt().requests();
            for (TraceRequest request : trace.subList(0, Math.min(requests, trace.size()))) {
                texts.add(context.alphabet().hashedText(request.prompt(), WORDS_PER_HASH_ID));
            }
        } else if (key.startsWith(REPEATS_PREFIX)) {
            for (TraceRequest request : repeats(context, key, requests).requests()) {
                texts.add(context.alphabet().numberedText(request.prompt()));
            }
        } else {
            for (TraceRequest request : Workloads.named(key, requests, context.settings().seed()).requests()) {
                texts.add(context.alphabet().hashedText(request.prompt(), 1));
            }
        }
        int limit = context.model().contextLength() - context.settings().maxNewTokens();
        List<String> fitting = texts.stream().filter(t -> context.model().tokens(t) <= limit).toList();
        return new Prompts(key, fitting, texts.size() - fitting.size());
    }

    /** The repeats workload of {@code ratio}, numbered in the alphabet's numbering words. */
    static Workload repeats(SuiteContext context, double ratio, int requests) {
        return Workloads.repeats(requests, ratio, context.settings().seed(), context.alphabet().numbering().size());
    }

    private static Workload repeats(SuiteContext context, String key, int requests) {
        String ratio = key.substring(REPEATS_PREFIX.length(), key.length() - 1);
        try {
            return repeats(context, Double.parseDouble(ratio), requests);
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("bad workload '" + key + "': expected repeats(r), r in [0, 1)");
        }
    }
}
