package dev.ultrakv.bench.serve;

import dev.ultrakv.sim.MooncakeTrace;
import dev.ultrakv.sim.TraceRequest;
import dev.ultrakv.sim.Workload;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;

/**
 * The conversations of a {@code bench serve} workload, as text, generated from a seed: the same settings give the
 * same text on every machine.
 *
 * <ul>
 *   <li>{@code random}: prompts of {@code promptWords} random words, nothing shared;</li>
 *   <li>{@code shared-prefix}: each prompt is one of {@code prefixes} system prompts of {@code prefixWords} words
 *       followed by {@code promptWords} words of its own, so a prefix cache can skip the shared part;</li>
 *   <li>{@code multi-turn}: conversations of {@code turns} turns of {@code promptWords} words, each turn's request
 *       repeating the earlier turns and their answers;</li>
 *   <li>{@code trace}: the requests of a Mooncake trace, each hash id written as {@code wordsPerBlock} words
 *       chosen by the id, so that requests sharing hash ids share text.</li>
 * </ul>
 *
 * <h2>Notes</h2>
 * Servers tokenize differently, so lengths are set in words, not tokens; {@code usage.prompt_tokens} says what
 * each became. The words are common English words (a small model such as stories260K knows them). Each level of
 * a run gets its own text (the salt), so a level never finds the previous level's prompts in the server's cache.
 */
public final class ServeWorkloads {
    /** Common short words, the vocabulary of children's stories. */
    static final List<String> WORDS = Arrays.stream(("the a and to was he she it they said day big little happy sad "
            + "sun tree park dog cat bird fish ball toy car boat house home mom dad friend girl boy play run jump "
            + "walk look see saw find found help want went came good nice red blue green yellow small tall old new "
            + "water sky flower garden rain snow cold warm hot food apple cake cookie milk bread book box hat shoe "
            + "door window bed room school teacher name time one two three lot very could would wanted liked loved "
            + "made gave took told asked smiled laughed ran played jumped looked went sat felt thought knew came "
            + "under over in on with for from up down out into after then when because so but not all some every "
            + "morning night story magic forest river hill road town farm cow horse duck bear lion rabbit mouse "
            + "frog bug bee leaf stone star moon light dark fast slow loud quiet kind brave funny silly").split(" "))
            .distinct().toList();
    /** Golden-ratio multiplier of a 64-bit mix. */
    private static final long MIX = 0x9E3779B97F4A7C15L;

    private ServeWorkloads() {
    }

    /**
     * The conversations of the level numbered {@code salt}: exactly {@code settings.requests()} turns in all (a
     * trace shorter than that gives each of its requests once).
     *
     * @throws IllegalArgumentException if the trace file cannot be read or is malformed
     */
    public static List<Conversation> conversations(ServeSettings settings, int salt) {
        return conversations(settings, salt, settings.requests());
    }

    /**
     * The conversations of the warm-up: {@code settings.warmupRequests()} turns, of text that no level sends.
     *
     * @throws IllegalArgumentException if the trace file cannot be read or is malformed
     */
    public static List<Conversation> warmup(ServeSettings settings) {
        return conversations(settings, WARMUP_SALT, settings.warmupRequests());
    }

    /** The salt of the warm-up's text: the levels' salts are their indexes, from 0. */
    private static final int WARMUP_SALT = -1;

    private static List<Conversation> conversations(ServeSettings settings, int salt, int requests) {
        long seed = settings.seed() ^ (salt + 1L) * MIX;
        var random = new SplittableRandom(seed);
        List<Conversation> conversations = new ArrayList<>();
        switch (settings.workload()) {
            case "random" -> {
                for (int i = 0; i < requests; i++) {
                    conversations.add(new Conversation("", List.of(words(random, settings.promptWords()))));
                }
            }
            case "shared-prefix" -> {
                List<String> prefixes = new ArrayList<>();
                for (int p = 0; p < settings.prefixes(); p++) {
                    prefixes.add(words(random, settings.prefixWords()));
                }
                for (int i = 0; i < requests; i++) {
                    String prefix = prefixes.get(random.nextInt(prefixes.size()));
                    conversations.add(new Conversation(prefix, List.of(words(random, settings.promptWords()))));
                }
            }
            case "multi-turn" -> {
                for (int left = requests; left > 0; left -= settings.turns()) {
                    List<String> turns = new ArrayList<>();
                    for (int t = 0; t < Math.min(left, settings.turns()); t++) {
                        turns.add(words(random, settings.promptWords()));
                    }
                    conversations.add(new Conversation("", turns));
                }
            }
            case "trace" -> {
                List<TraceRequest> trace = readTrace(Path.of(settings.traceFile())).requests();
                for (TraceRequest request : trace.subList(0, Math.min(requests, trace.size()))) {
                    conversations.add(new Conversation("", List.of(traceText(request.prompt(),
                            settings.wordsPerBlock(), seed))));
                }
            }
            default -> throw new IllegalArgumentException("unknown workload " + settings.workload());
        }
        return conversations;
    }

    /** The text of a trace request: each hash id's words, chosen by the id and the seed alone. */
    static String traceText(int[] hashIds, int wordsPerBlock, long seed) {
        StringBuilder text = new StringBuilder();
        for (int id : hashIds) {
            if (!text.isEmpty()) {
                text.append(' ');
            }
            text.append(words(new SplittableRandom(seed ^ (id + 1L) * MIX), wordsPerBlock));
        }
        return text.toString();
    }

    private static String words(SplittableRandom random, int count) {
        StringBuilder text = new StringBuilder();
        for (int w = 0; w < count; w++) {
            if (w > 0) {
                text.append(' ');
            }
            text.append(WORDS.get(random.nextInt(WORDS.size())));
        }
        return text.toString();
    }

    private static Workload readTrace(Path file) {
        try {
            return MooncakeTrace.read(file);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot read the trace " + file + ": " + e.getMessage(),
                    new UncheckedIOException(e));
        }
    }
}
