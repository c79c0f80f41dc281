package dev.ultrakv.sim;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Named synthetic workloads, each generated deterministically from a seed. Tokens are random ids in
 * {@code [FIRST_TOKEN, vocabulary)}, so two pieces of text share a block only when the workload means them to.
 * Outputs are a function of the prompt (greedy decoding): repeating a prompt repeats its output.
 *
 * <ul>
 *   <li>{@code zipf-repeats}: prompts drawn from a pool by a Zipf law, the pattern where frequency wins.</li>
 *   <li>{@code shared-system-prompts}: a few long system prompts, each followed by a question that is one of a
 *       pool of frequent ones or new.</li>
 *   <li>{@code multi-turn-chat}: interleaved conversations whose next turn extends the previous prompt and answer;
 *       some turns are retried (the same prompt sent again), the pattern where recency wins.</li>
 *   <li>{@code hot-set-with-scans}: a hot set of prompts that drifts slowly, interleaved with bursts of one-off
 *       scan prompts.</li>
 *   <li>{@code abandoned-chat}: multi-turn chat where most conversations end after a turn or two and a few run
 *       long (a geometric law), many open at once: most blocks are never used again.</li>
 *   <li>{@code system-prompts-with-scans}: shared system prompts and frequent questions, interrupted by bursts of
 *       long one-off documents (a batch job scanning through the cache).</li>
 *   <li>{@code agent-loops}: agents that re-send their whole growing context at each step (tool output and model
 *       output appended), interleaved.</li>
 *   <li>{@code document-qa}: questions over a large corpus of long documents, popular ones asked about often
 *       (Zipf), the working set far beyond the cache.</li>
 *   <li>{@code repeats(r)}: requests of which exactly a fraction {@code r} repeat an earlier prompt; with a cache
 *       that holds everything, the request hit rate is exactly {@code r}.</li>
 * </ul>
 */
public final class Workloads {
    /** Token ids below this are left out: llama2.c vocabularies reserve 0-2 for unknown, BOS and EOS. */
    public static final int FIRST_TOKEN = 3;
    /** Vocabulary of the synthetic workloads: a Llama-sized one, so random blocks never collide. */
    public static final int VOCABULARY = 32_000;
    /** Tokens per block of the synthetic workloads: small, so small caches hold meaningful prefix trees. */
    public static final int BLOCK_SIZE = 16;
    /** Requests in a named workload unless a test asks for fewer. */
    public static final int DEFAULT_REQUESTS = 5_000;

    /** The names {@link #named} accepts, besides {@code repeats(r)} for any fraction. */
    public static final List<String> NAMES = List.of("zipf-repeats", "shared-system-prompts", "multi-turn-chat",
            "hot-set-with-scans", "abandoned-chat", "system-prompts-with-scans", "agent-loops", "document-qa",
            "repeats(0.5)");

    private static final Pattern REPEATS = Pattern.compile("repeats\\((0(?:\\.\\d+)?|1(?:\\.0+)?)\\)");

    private Workloads() {
    }

    /**
     * The workload called {@code name} with {@code requests} requests.
     *
     * @throws IllegalArgumentException for an unknown name
     */
    public static Workload named(String name, int requests, long seed) {
        String key = name.trim().toLowerCase(Locale.ROOT);
        Matcher repeats = REPEATS.matcher(key);
        if (repeats.matches()) {
            return repeats(requests, Double.parseDouble(repeats.group(1)), seed);
        }
        return switch (key) {
            case "zipf-repeats" -> zipfRepeats(requests, seed);
            case "shared-system-prompts" -> sharedSystemPrompts(requests, seed);
            case "multi-turn-chat" -> multiTurnChat(requests, seed);
            case "hot-set-with-scans" -> hotSetWithScans(requests, seed);
            case "abandoned-chat" -> abandonedChat(requests, seed);
            case "system-prompts-with-scans" -> systemPromptsWithScans(requests, seed);
            case "agent-loops" -> agentLoops(requests, seed);
            case "document-qa" -> documentQa(requests, seed);
            default -> throw new IllegalArgumentException("unknown workload '" + name + "' (expected one of "
                    + NAMES + " or repeats(r))");
        };
    }

    /** Prompts in the pool of {@code zipf-repeats}, per thousand requests. */
    static final int ZIPF_POOL_PER_THOUSAND = 100;
    /** Zipf exponent of {@code zipf-repeats}: a skew typical of production prompt popularity. */
    static final double ZIPF_EXPONENT = 0.9;

    /** Prompts of 16 to 112 tokens drawn by a Zipf law from a pool of a tenth as many prompts as requests. */
    public static Workload zipfRepeats(int requests, long seed) {
        var random = new SplittableRandom(seed);
        int poolSize = Math.max(1, requests * ZIPF_POOL_PER_THOUSAND / 1000);
        List<TraceRequest> pool = new ArrayList<>();
        for (int i = 0; i < poolSize; i++) {
            pool.add(new TraceRequest(tokens(random, between(random, 16, 112)), tokens(random,
                    between(random, 8, 40))));
        }
        var zipf = new Zipf(poolSize, ZIPF_EXPONENT);
        List<TraceRequest> trace = new ArrayList<>(requests);
        for (int i = 0; i < requests; i++) {
            trace.add(pool.get(zipf.sample(random)));
        }
        return new Workload("zipf-repeats", BLOCK_SIZE, BLOCK_SIZE, trace);
    }

    /** System prompts in {@code shared-system-prompts}. */
    static final int SYSTEM_PROMPTS = 4;
    /** Share of questions drawn from the pool of frequent questions; the others are new. */
    static final double FREQUENT_QUESTION_SHARE = 0.4;
    /** Frequent questions per system prompt. */
    static final int FREQUENT_QUESTIONS = 80;

    /**
     * A few system prompts of 128 to 192 tokens (the first used most), each request one of them followed by a
     * question of 16 to 48 tokens: a frequent one (Zipf over a pool per system prompt) or a new one.
     */
    public static Workload sharedSystemPrompts(int requests, long seed) {
        var random = new SplittableRandom(seed);
        int[][] systems = new int[SYSTEM_PROMPTS][];
        List<List<TraceRequest>> frequent = new ArrayList<>();
        for (int s = 0; s < SYSTEM_PROMPTS; s++) {
            systems[s] = tokens(random, between(random, 128, 192));
            List<TraceRequest> questions = new ArrayList<>();
            for (int q = 0; q < FREQUENT_QUESTIONS; q++) {
                questions.add(new TraceRequest(concat(systems[s], tokens(random, between(random, 16, 48))),
                        tokens(random, between(random, 16, 48))));
            }
            frequent.add(questions);
        }
        var systemLaw = new Zipf(SYSTEM_PROMPTS, 1.0);
        var questionLaw = new Zipf(FREQUENT_QUESTIONS, 1.0);
        List<TraceRequest> trace = new ArrayList<>(requests);
        for (int i = 0; i < requests; i++) {
            int s = systemLaw.sample(random);
            if (random.nextDouble() < FREQUENT_QUESTION_SHARE) {
                trace.add(frequent.get(s).get(questionLaw.sample(random)));
            } else {
                trace.add(new TraceRequest(concat(systems[s], tokens(random, between(random, 16, 48))),
                        tokens(random, between(random, 16, 48))));
            }
        }
        return new Workload("shared-system-prompts", BLOCK_SIZE, BLOCK_SIZE, trace);
    }

    /** Conversations open at once in {@code multi-turn-chat}. */
    static final int OPEN_CONVERSATIONS = 12;
    /** Chance that a turn is retried: the same prompt sent again (a timeout, a "regenerate"). */
    static final double RETRY_SHARE = 0.2;

    /**
     * Conversations of 2 to 10 turns under one short system prompt, {@value #OPEN_CONVERSATIONS} open at a time
     * and interleaved at random. Each turn's prompt is the previous prompt, its answer and a new user message of
     * 16 to 48 tokens; answers have 16 to 64 tokens. A turn is retried with chance {@value #RETRY_SHARE}.
     */
    public static Workload multiTurnChat(int requests, long seed) {
        var random = new SplittableRandom(seed);
        int[] system = tokens(random, 32);
        List<Conversation> open = new ArrayList<>();
        for (int i = 0; i < OPEN_CONVERSATIONS; i++) {
            open.add(new Conversation(between(random, 2, 10)));
        }
        List<TraceRequest> trace = new ArrayList<>(requests);
        while (trace.size() < requests) {
            int c = random.nextInt(open.size());
            Conversation conversation = open.get(c);
            if (conversation.last != null && random.nextDouble() < RETRY_SHARE) {
                trace.add(conversation.last);
                continue;
            }
            int[] history = conversation.last == null ? system : conversation.last.sequence();
            var turn = new TraceRequest(concat(history, tokens(random, between(random, 16, 48))),
                    tokens(random, between(random, 16, 64)));
            trace.add(turn);
            conversation.last = turn;
            if (--conversation.turnsLeft == 0) {
                open.set(c, new Conversation(between(random, 2, 10)));
            }
        }
        return new Workload("multi-turn-chat", BLOCK_SIZE, BLOCK_SIZE, trace);
    }

    private static final class Conversation {
        int turnsLeft;
        TraceRequest last;

        Conversation(int turns) {
            this.turnsLeft = turns;
        }
    }

    /** Prompts in the hot set. */
    static final int HOT_PROMPTS = 40;
    /** Requests between two changes of the hot set. */
    static final int HOT_SET_PHASE = 1_000;
    /** Share of the hot set replaced at each phase: popularity drifts, so stale counts must fade. */
    static final double HOT_SET_DRIFT = 0.25;
    /** Hot requests between two scan bursts, on average. */
    static final int HOT_RUN = 150;
    /** One-off prompts in a scan burst. */
    static final int SCAN_BURST = 30;

    /**
     * A hot set of {@value #HOT_PROMPTS} prompts of 32 to 96 tokens (Zipf 0.8), a quarter of it replaced every
     * {@value #HOT_SET_PHASE} requests, interleaved with bursts of {@value #SCAN_BURST} one-off prompts of 64 to
     * 128 tokens about every {@value #HOT_RUN} hot requests.
     */
    public static Workload hotSetWithScans(int requests, long seed) {
        var random = new SplittableRandom(seed);
        List<TraceRequest> hot = new ArrayList<>();
        for (int i = 0; i < HOT_PROMPTS; i++) {
            hot.add(hotPrompt(random));
        }
        var law = new Zipf(HOT_PROMPTS, 0.8);
        List<TraceRequest> trace = new ArrayList<>(requests);
        int untilScan = between(random, HOT_RUN / 2, HOT_RUN * 3 / 2);
        int nextPhase = HOT_SET_PHASE;
        while (trace.size() < requests) {
            if (trace.size() >= nextPhase) {
                nextPhase += HOT_SET_PHASE;
                for (int i = 0; i < HOT_PROMPTS * HOT_SET_DRIFT; i++) {
                    hot.set(random.nextInt(HOT_PROMPTS), hotPrompt(random));
                }
            }
            if (untilScan-- == 0) {
                for (int i = 0; i < SCAN_BURST && trace.size() < requests; i++) {
                    trace.add(new TraceRequest(tokens(random, between(random, 64, 128)),
                            tokens(random, between(random, 8, 24))));
                }
                untilScan = between(random, HOT_RUN / 2, HOT_RUN * 3 / 2);
            } else {
                trace.add(hot.get(law.sample(random)));
            }
        }
        return new Workload("hot-set-with-scans", BLOCK_SIZE, BLOCK_SIZE, trace);
    }

    /** Conversations open at once in {@code abandoned-chat}. */
    static final int ABANDONED_CHAT_OPEN = 48;
    /** Chance that a conversation of {@code abandoned-chat} goes on after a turn: most end after one or two. */
    static final double CONTINUE_CHANCE = 0.45;
    /** Longest conversation of {@code abandoned-chat}. */
    static final int MAX_TURNS = 30;

    /**
     * Chat under one system prompt of 64 tokens with a long tail of abandoned conversations: each of
     * {@value #ABANDONED_CHAT_OPEN} open conversations goes on after a turn with chance {@value #CONTINUE_CHANCE}
     * (up to {@value #MAX_TURNS} turns), so more than half end after their first turn and never reuse what they
     * computed. Turns extend the previous prompt and answer with a message of 16 to 64 tokens; answers have 16 to
     * 96 tokens. The conversation to speak next is drawn at random.
     */
    public static Workload abandonedChat(int requests, long seed) {
        var random = new SplittableRandom(seed);
        int[] system = tokens(random, 64);
        TraceRequest[] open = new TraceRequest[ABANDONED_CHAT_OPEN];
        int[] turns = new int[ABANDONED_CHAT_OPEN];
        List<TraceRequest> trace = new ArrayList<>(requests);
        while (trace.size() < requests) {
            int c = random.nextInt(open.length);
            int[] history = open[c] == null ? system : open[c].sequence();
            var turn = new TraceRequest(concat(history, tokens(random, between(random, 16, 64))),
                    tokens(random, between(random, 16, 96)));
            trace.add(turn);
            boolean goesOn = ++turns[c] < MAX_TURNS && random.nextDouble() < CONTINUE_CHANCE;
            open[c] = goesOn ? turn : null;
            turns[c] = goesOn ? turns[c] : 0;
        }
        return new Workload("abandoned-chat", BLOCK_SIZE, BLOCK_SIZE, trace);
    }

    /** Requests between two scan bursts of {@code system-prompts-with-scans}, on average. */
    static final int SCAN_GAP = 100;
    /** Long one-off documents in a scan burst of {@code system-prompts-with-scans}. */
    static final int DOCUMENT_SCAN_BURST = 20;

    /**
     * The requests of {@code shared-system-prompts} interrupted about every {@value #SCAN_GAP} requests by a burst
     * of {@value #DOCUMENT_SCAN_BURST} one-off documents of 256 to 512 tokens (a batch summarising a feed): each
     * burst alone computes more blocks than a small cache holds.
     */
    public static Workload systemPromptsWithScans(int requests, long seed) {
        var random = new SplittableRandom(seed + 1);
        List<TraceRequest> chat = sharedSystemPrompts(requests, seed).requests();
        List<TraceRequest> trace = new ArrayList<>(requests);
        int next = 0;
        int untilScan = between(random, SCAN_GAP / 2, SCAN_GAP * 3 / 2);
        while (trace.size() < requests) {
            if (untilScan-- == 0) {
                for (int i = 0; i < DOCUMENT_SCAN_BURST && trace.size() < requests; i++) {
                    trace.add(new TraceRequest(tokens(random, between(random, 256, 512)),
                            tokens(random, between(random, 16, 64))));
                }
                untilScan = between(random, SCAN_GAP / 2, SCAN_GAP * 3 / 2);
            } else {
                trace.add(chat.get(next++));
            }
        }
        return new Workload("system-prompts-with-scans", BLOCK_SIZE, BLOCK_SIZE, trace);
    }

    /** Agents running at once in {@code agent-loops}. */
    static final int AGENTS = 8;

    /**
     * {@value #AGENTS} agents interleaved at random, each running a task of 5 to 25 steps under one of two tool
     * system prompts (256 tokens): a step's prompt is the previous step's prompt and output plus a tool result of
     * 32 to 160 tokens, and its output (a tool call) has 16 to 48 tokens. Contexts grow to thousands of tokens and
     * each is re-sent whole at the next step, so the newest blocks of each agent are the ones to keep.
     */
    public static Workload agentLoops(int requests, long seed) {
        var random = new SplittableRandom(seed);
        int[][] systems = {tokens(random, 256), tokens(random, 256)};
        TraceRequest[] last = new TraceRequest[AGENTS];
        int[] stepsLeft = new int[AGENTS];
        List<TraceRequest> trace = new ArrayList<>(requests);
        while (trace.size() < requests) {
            int a = random.nextInt(AGENTS);
            if (stepsLeft[a] == 0) {
                stepsLeft[a] = between(random, 5, 25);
                last[a] = null;
            }
            int[] context = last[a] == null ? concat(systems[random.nextInt(2)], tokens(random, 64))
                    : last[a].sequence();
            var step = new TraceRequest(concat(context, tokens(random, between(random, 32, 160))),
                    tokens(random, between(random, 16, 48)));
            trace.add(step);
            last[a] = step;
            stepsLeft[a]--;
        }
        return new Workload("agent-loops", BLOCK_SIZE, BLOCK_SIZE, trace);
    }

    /** Documents in the corpus of {@code document-qa}. */
    static final int DOCUMENTS = 600;
    /** Zipf exponent of document popularity in {@code document-qa}. */
    static final double DOCUMENT_EXPONENT = 0.8;

    /**
     * Questions over a corpus of {@value #DOCUMENTS} documents of 128 to 768 tokens, chosen by a Zipf law
     * (exponent {@value #DOCUMENT_EXPONENT}): each prompt is a short instruction (32 tokens), the document and a
     * new question of 16 to 48 tokens. Popular documents come back often, most of the corpus rarely, and the
     * question and answer blocks never.
     */
    public static Workload documentQa(int requests, long seed) {
        var random = new SplittableRandom(seed);
        int[] instruction = tokens(random, 32);
        int[][] documents = new int[DOCUMENTS][];
        for (int d = 0; d < DOCUMENTS; d++) {
            documents[d] = concat(instruction, tokens(random, between(random, 128, 768)));
        }
        // Popularity is not the order of creation: shuffle which document each rank names.
        int[] byRank = new int[DOCUMENTS];
        for (int i = 0; i < DOCUMENTS; i++) {
            int j = random.nextInt(i + 1);
            byRank[i] = byRank[j];
            byRank[j] = i;
        }
        var law = new Zipf(DOCUMENTS, DOCUMENT_EXPONENT);
        List<TraceRequest> trace = new ArrayList<>(requests);
        for (int i = 0; i < requests; i++) {
            int[] document = documents[byRank[law.sample(random)]];
            trace.add(new TraceRequest(concat(document, tokens(random, between(random, 16, 48))),
                    tokens(random, between(random, 16, 64))));
        }
        return new Workload("document-qa", BLOCK_SIZE, BLOCK_SIZE, trace);
    }

    private static TraceRequest hotPrompt(SplittableRandom random) {
        return new TraceRequest(tokens(random, between(random, 32, 96)), tokens(random, between(random, 8, 24)));
    }

    /**
     * {@code requests} requests of which exactly {@code round(repeatShare * requests)} repeat an earlier prompt
     * (chosen uniformly among the distinct prompts so far) and the others are new; the first request is new.
     * Prompts have 4 to 40 tokens (some shorter than a block) and outputs 4 to 16. Each prompt begins with two
     * tokens that number it, so a new prompt is never found in the cache: the first occurrence of each prompt
     * misses and each repeat hits when the cache holds everything.
     */
    public static Workload repeats(int requests, double repeatShare, long seed) {
        return repeats(requests, repeatShare, seed, VOCABULARY);
    }

    /**
     * As {@link #repeats(int, double, long)}, with token ids below {@code vocabulary} (for a real model's
     * vocabulary, e.g. 512 for stories260K).
     *
     * @throws IllegalArgumentException if the share is outside [0, 1) or the vocabulary cannot number the
     *                                  distinct prompts in two tokens
     */
    public static Workload repeats(int requests, double repeatShare, long seed, int vocabulary) {
        if (requests <= 0 || !(repeatShare >= 0 && repeatShare < 1)) {
            throw new IllegalArgumentException("need requests > 0 and a repeat share in [0, 1): " + requests + ", "
                    + repeatShare);
        }
        int symbols = vocabulary - FIRST_TOKEN;
        int repeatCount = (int) Math.round(repeatShare * requests);
        int distinct = requests - repeatCount;
        if ((long) symbols * symbols < distinct) {
            throw new IllegalArgumentException("a vocabulary of " + vocabulary + " cannot number " + distinct
                    + " prompts in two tokens");
        }
        var random = new SplittableRandom(seed);
        boolean[] repeat = new boolean[requests];
        Arrays.fill(repeat, 1, repeatCount + 1, true);
        for (int i = requests - 1; i > 1; i--) { // shuffle all but the first, which must be new
            int j = 1 + random.nextInt(i);
            boolean swap = repeat[i];
            repeat[i] = repeat[j];
            repeat[j] = swap;
        }
        List<TraceRequest> seen = new ArrayList<>(distinct);
        List<TraceRequest> trace = new ArrayList<>(requests);
        for (int i = 0; i < requests; i++) {
            if (repeat[i]) {
                trace.add(seen.get(random.nextInt(seen.size())));
                continue;
            }
            int number = seen.size();
            int[] prompt = tokens(random, between(random, 4, 40), vocabulary);
            prompt[0] = FIRST_TOKEN + number / symbols;
            prompt[1] = FIRST_TOKEN + number % symbols;
            var request = new TraceRequest(prompt, tokens(random, between(random, 4, 16), vocabulary));
            seen.add(request);
            trace.add(request);
        }
        String name = "repeats(" + shareText(repeatShare) + ")";
        return new Workload(name, BLOCK_SIZE, BLOCK_SIZE, trace);
    }

    static int[] tokens(SplittableRandom random, int count) {
        return tokens(random, count, VOCABULARY);
    }

    static int[] tokens(SplittableRandom random, int count, int vocabulary) {
        int[] tokens = new int[count];
        for (int i = 0; i < count; i++) {
            tokens[i] = random.nextInt(FIRST_TOKEN, vocabulary);
        }
        return tokens;
    }

    static int between(SplittableRandom random, int min, int max) {
        return random.nextInt(min, max + 1);
    }

    static int[] concat(int[] first, int[] second) {
        int[] all = Arrays.copyOf(first, first.length + second.length);
        System.arraycopy(second, 0, all, first.length, second.length);
        return all;
    }

    /** Shortest decimal text of a share: 0.5, not 0.50000. */
    private static String shareText(double share) {
        return new BigDecimal(Double.toString(share)).stripTrailingZeros().toPlainString();
    }

    /** Draws ranks {@code 0..n-1} with probability proportional to {@code 1 / (rank + 1)^exponent}. */
    static final class Zipf {
        private final double[] cumulative;

        Zipf(int n, double exponent) {
            cumulative = new double[n];
            double sum = 0;
            for (int i = 0; i < n; i++) {
                sum += 1.0 / Math.pow(i + 1, exponent);
                cumulative[i] = sum;
            }
            for (int i = 0; i < n; i++) {
                cumulative[i] /= sum;
            }
        }

        int sample(SplittableRandom random) {
            int index = Arrays.binarySearch(cumulative, random.nextDouble());
            return Math.min(cumulative.length - 1, index < 0 ? -index - 1 : index);
        }
    }
}
