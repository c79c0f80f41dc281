package dev.ultrakv.scheduler;

import dev.ultrakv.kvcache.KvCacheManager;
import dev.ultrakv.kvcache.KvLayout;
import dev.ultrakv.kvcache.policy.PolicyKind;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The scheduler's decisions without a model: steps are "run" by appending a token chosen from the sequence and
 * its position, so tests see exactly which rows each step holds, who is admitted and preempted, and that every
 * sequence ends with the tokens it would have alone. The cache's books are checked after every step.
 */
class SchedulerTest {
    /** A tiny K/V shape: the scheduler's bookkeeping does not depend on it. */
    private static final KvLayout LAYOUT = new KvLayout(1, 2, 1, 4);
    private static final int BLOCK = 4;
    private static final String MODEL = "test-model";
    private static final int CRITICAL = 0;
    private static final int NORMAL = 2;
    private static final int BACKGROUND = 4;
    /** An ageing interval no test reaches unless it moves the ticker on purpose. */
    private static final Duration NO_AGEING = Duration.ofDays(1);

    /** A ticker the test moves. */
    private static final class ManualTicker implements Ticker {
        long now;

        @Override
        public long read() {
            return now;
        }
    }

    /** A scheduler over its own cache, a ticker, and what happened in each step. */
    private static final class Harness implements AutoCloseable {
        final ManualTicker ticker = new ManualTicker();
        final KvCacheManager cache;
        final Scheduler<SequenceState> scheduler;
        final List<StepPlan<SequenceState>> plans = new ArrayList<>();
        /** Step of each sequence's first admission and first sampled token. */
        final Map<SequenceState, Long> admittedAt = new HashMap<>();
        final Map<SequenceState, Long> firstTokenAt = new HashMap<>();
        final Map<SequenceState, Long> finishedAt = new HashMap<>();
        /** Rows each sequence had in the last step. */
        final Map<SequenceState, Integer> rows = new HashMap<>();
        final int stepTokens;
        long nextOrder;

        Harness(int cacheTokens, SchedulerConfig config) {
            cache = new KvCacheManager(MODEL, LAYOUT, BLOCK, cacheTokens, PolicyKind.LRU);
            scheduler = new Scheduler<>(cache, config, ticker);
            stepTokens = config.stepTokens();
        }

        SequenceState add(int priority, int[] prompt, int maxNewTokens) {
            SequenceState s = new SequenceState(nextOrder++, priority, ticker.now, prompt, maxNewTokens);
            scheduler.add(s);
            return s;
        }

        /** One step: schedule, "run" it, sample the sequences that reached their last token, check the books. */
        StepPlan<SequenceState> step() {
            StepPlan<SequenceState> plan = scheduler.schedule();
            plans.add(plan);
            assertTrue(plan.rows() <= stepTokens, "rows within the step's budget");
            for (SequenceState s : plan.admitted()) {
                admittedAt.putIfAbsent(s, plan.step());
            }
            List<SequenceState> sampling = new ArrayList<>();
            rows.clear();
            for (SequenceState s : plan.batch()) {
                rows.put(s, s.scheduledRows());
                if (s.samplesThisStep()) {
                    sampling.add(s);
                }
            }
            scheduler.completeStep(plan);
            for (SequenceState s : sampling) {
                firstTokenAt.putIfAbsent(s, plan.step());
                s.append(tokenAfter(s));
                if (s.generated() == s.maxNewTokens()) {
                    scheduler.finish(s);
                    finishedAt.put(s, plan.step());
                }
            }
            cache.checkInvariants();
            return plan;
        }

        /** Steps until nothing waits or runs; fails past {@code maxSteps}. */
        void runToEnd(int maxSteps) {
            for (int i = 0; scheduler.runningCount() + scheduler.waitingCount() > 0; i++) {
                assertTrue(i < maxSteps, "not done after " + maxSteps + " steps");
                step();
            }
            assertEquals(0, cache.liveSequences());
            assertEquals(0, cache.pinnedBlocks());
            assertEquals(cache.cachedBlocks(), cache.usedBlocks(), "no block leaked");
        }

        @Override
        public void close() {
            cache.close();
        }
    }

    private static Harness harness(int cacheTokens, int stepTokens, int maxRunning, Duration ageing) {
        return new Harness(cacheTokens, SchedulerConfig.builder().stepTokens(stepTokens)
                .maxRunningSequences(maxRunning).ageingInterval(ageing).build());
    }

    /** The "model": a token that depends only on the sequence's tokens so far, as greedy decoding would. */
    private static int tokenAfter(SequenceState s) {
        int hash = 17;
        for (int i = 0; i < s.length(); i++) {
            hash = hash * 31 + s.token(i);
        }
        return 3 + Math.floorMod(hash, 500);
    }

    private static int[] prompt(int seed, int length) {
        SplittableRandom random = new SplittableRandom(seed);
        int[] tokens = new int[length];
        tokens[0] = 1;
        for (int i = 1; i < length; i++) {
            tokens[i] = 3 + random.nextInt(500);
        }
        return tokens;
    }

    /** What {@code prompt} generates alone: the reference every scheduled run must reproduce. */
    private static int[] alone(int[] prompt, int maxNewTokens) {
        try (Harness h = harness(1024, 64, 1, NO_AGEING)) {
            SequenceState s = h.add(NORMAL, prompt, maxNewTokens);
            h.runToEnd(1000);
            return s.generatedTokens();
        }
    }

    @Test
    void decodeTokensComeFirstAndPromptsAreChunkedWithinTheStepBudget() {
        try (Harness h = harness(1024, 8, 4, NO_AGEING)) {
            SequenceState a = h.add(NORMAL, prompt(1, 3), 6);
            StepPlan<SequenceState> first = h.step();
            assertEquals(List.of(a), first.batch());
            assertEquals(3, first.rows());
            SequenceState b = h.add(NORMAL, prompt(2, 20), 2);
            List<Integer> bRows = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                StepPlan<SequenceState> plan = h.step();
                assertEquals(a, plan.batch().getFirst(), "the running sequence's token comes first");
                assertEquals(1, h.rows.get(a));
                bRows.add(h.rows.get(b));
                assertEquals(1 + bRows.getLast(), plan.rows());
            }
            assertEquals(List.of(7, 7, 6), bRows, "20 prompt tokens in chunks of what the step leaves");
            assertEquals(1, b.generated(), "b's first token comes with its last chunk");
            h.runToEnd(100);
            assertArrayEquals(alone(prompt(1, 3), 6), a.generatedTokens());
            assertArrayEquals(alone(prompt(2, 20), 2), b.generatedTokens());
        }
    }

    @Test
    void admissionIsByPriorityThenLongestCachedPrefixThenArrival() {
        try (Harness h = harness(1024, 64, 1, NO_AGEING)) {
            int[] cachedPrompt = prompt(7, 12);
            h.add(NORMAL, cachedPrompt, 2);
            h.runToEnd(10);
            SequenceState noCacheFirst = h.add(NORMAL, prompt(8, 12), 2);
            SequenceState background = h.add(BACKGROUND, prompt(9, 12), 2);
            int[] extending = Arrays.copyOf(cachedPrompt, 16);
            extending[14] = 99;
            SequenceState cachedPrefix = h.add(NORMAL, extending, 2);
            SequenceState critical = h.add(CRITICAL, prompt(10, 12), 2);
            h.runToEnd(20);
            List<SequenceState> order = new ArrayList<>(List.of(noCacheFirst, background, cachedPrefix, critical));
            order.sort((x, y) -> Long.compare(h.admittedAt.get(x), h.admittedAt.get(y)));
            assertEquals(List.of(critical, cachedPrefix, noCacheFirst, background), order);
            assertEquals(12, cachedPrefix.cachedPromptTokens());
        }
    }

    @Test
    void criticalRequestsSubmittedLaterReachTheirFirstTokenBeforeAnyWaitingBackgroundRequestIsAdmitted() {
        try (Harness h = harness(1024, 32, 2, NO_AGEING)) {
            List<SequenceState> background = new ArrayList<>();
            for (int i = 0; i < 8; i++) {
                background.add(h.add(BACKGROUND, prompt(20 + i, 5 + i), 10));
            }
            h.step();
            h.step();
            assertEquals(2, h.scheduler.runningCount(), "the engine is saturated");
            List<SequenceState> waitingBackground = background.stream()
                    .filter(s -> s.status() == SequenceState.Status.WAITING).toList();
            assertEquals(6, waitingBackground.size());
            List<SequenceState> critical = new ArrayList<>();
            for (int i = 0; i < 3; i++) {
                critical.add(h.add(CRITICAL, prompt(40 + i, 6), 4));
            }
            h.runToEnd(500);
            long lastCriticalFirstToken = critical.stream().mapToLong(h.firstTokenAt::get).max().orElseThrow();
            for (SequenceState b : waitingBackground) {
                assertTrue(h.admittedAt.get(b) > lastCriticalFirstToken, b + " admitted at " + h.admittedAt.get(b)
                        + ", last critical first token at " + lastCriticalFirstToken);
            }
            for (int i = 0; i < background.size(); i++) {
                assertEquals(SequenceState.Status.DONE, background.get(i).status());
                assertArrayEquals(alone(prompt(20 + i, 5 + i), 10), background.get(i).generatedTokens(),
                        "a preempted sequence generates what it would alone");
            }
            assertTrue(h.scheduler.preemptions() > 0, "the critical requests took the running places");
        }
    }

    @Test
    void waitingRequestsAgeUpwardSoBackgroundIsServedUnderAStreamOfNormalRequests() {
        long second = Duration.ofSeconds(1).toNanos();
        try (Harness h = harness(1024, 64, 1, Duration.ofSeconds(10))) {
            SequenceState old = h.add(BACKGROUND, prompt(1, 5), 1);
            for (int t = 0; t < 60 && old.status() != SequenceState.Status.DONE; t++) {
                h.add(NORMAL, prompt(100 + t, 5), 1);
                h.step();
                h.ticker.now += second;
            }
            assertEquals(SequenceState.Status.DONE, old.status(), "background starved");
            long admittedAtSecond = h.admittedAt.get(old) - 1;
            assertEquals(20, admittedAtSecond, "once 20 s of waiting raise it from 4 to 2, the level of the"
                    + " normal requests, it is the oldest there");
        }
    }

    @Test
    void aCacheTooSmallForEveryRunningSequencePreemptsTheLeastUrgentAndCompletesAllWithoutLeaks() {
        try (Harness h = harness(12 * BLOCK, 64, 8, NO_AGEING)) {
            List<SequenceState> all = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                all.add(h.add(i % 3 + 2, prompt(300 + i, 5 + i), 12));
            }
            h.runToEnd(1000);
            assertTrue(h.scheduler.preemptions() > 0);
            for (int i = 0; i < all.size(); i++) {
                assertArrayEquals(alone(prompt(300 + i, 5 + i), 12), all.get(i).generatedTokens());
            }
            long preemptedNormal = h.plans.stream().flatMap(p -> p.preempted().stream())
                    .filter(s -> s.priority() == NORMAL).count();
            long preemptedBackground = h.plans.stream().flatMap(p -> p.preempted().stream())
                    .filter(s -> s.priority() == BACKGROUND).count();
            assertTrue(preemptedBackground >= preemptedNormal, "lower priority is preempted first: "
                    + preemptedBackground + " background against " + preemptedNormal + " normal preemptions");
        }
    }

    @Test
    void aMoreUrgentRequestPreemptsLessUrgentRunningOnesWhenTheCacheIsFull() {
        try (Harness h = harness(8 * BLOCK, 64, 8, NO_AGEING)) {
            SequenceState a = h.add(BACKGROUND, prompt(1, 12), 8);
            SequenceState b = h.add(BACKGROUND, prompt(2, 12), 8);
            h.step();
            assertEquals(2, h.scheduler.runningCount());
            SequenceState critical = h.add(CRITICAL, prompt(3, 12), 4);
            StepPlan<SequenceState> plan = h.step();
            assertTrue(plan.admitted().contains(critical), "admitted at once");
            assertEquals(List.of(b), plan.preempted(), "the newest of the least urgent goes");
            h.runToEnd(200);
            assertArrayEquals(alone(prompt(2, 12), 8), b.generatedTokens());
            assertArrayEquals(alone(prompt(1, 12), 8), a.generatedTokens());
        }
    }

    @Test
    void aRepeatOfARunningPromptWaitsForItAndThenFindsItCached() {
        try (Harness h = harness(1024, 64, 4, NO_AGEING)) {
            int[] shared = prompt(5, 9);
            SequenceState first = h.add(NORMAL, shared, 3);
            SequenceState repeat = h.add(NORMAL, shared, 3);
            SequenceState other = h.add(NORMAL, prompt(6, 9), 3);
            StepPlan<SequenceState> plan = h.step();
            assertEquals(List.of(first, other), plan.admitted());
            h.runToEnd(20);
            assertEquals(9, repeat.cachedPromptTokens(), "a full hit");
            assertEquals(h.finishedAt.get(first) + 1, (long) h.admittedAt.get(repeat),
                    "admitted in the step after the first finished");
            assertArrayEquals(first.generatedTokens(), repeat.generatedTokens());
        }
    }

    @Test
    void requestsSharingALongUncachedPrefixComputeItOnce() {
        try (Harness h = harness(1024, 64, 8, NO_AGEING)) {
            int[] system = prompt(11, 32);
            List<SequenceState> group = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                int[] p = Arrays.copyOf(system, 36);
                p[32 + i % 4] = 400 + i;
                group.add(h.add(NORMAL, p, 2));
            }
            StepPlan<SequenceState> plan = h.step();
            assertEquals(List.of(group.getFirst()), plan.admitted());
            h.runToEnd(20);
            for (SequenceState s : group.subList(1, group.size())) {
                assertTrue(s.cachedPromptTokens() >= 32, s + " cached " + s.cachedPromptTokens());
            }
        }
    }

    @Test
    void abortingFreesBlocksAtOnceWhereverTheSequenceIs() {
        try (Harness h = harness(1024, 64, 1, NO_AGEING)) {
            SequenceState running = h.add(NORMAL, prompt(1, 10), 20);
            SequenceState waiting = h.add(NORMAL, prompt(2, 10), 20);
            h.step();
            assertEquals(1, h.cache.liveSequences());
            h.scheduler.abort(running);
            h.scheduler.abort(waiting);
            h.scheduler.abort(waiting);
            assertEquals(0, h.cache.liveSequences());
            assertEquals(0, h.scheduler.waitingCount());
            assertEquals(0, h.cache.usedBlocks(), "an aborted sequence caches nothing");
            h.cache.checkInvariants();
            assertTrue(h.scheduler.schedule().isEmpty());
        }
    }

    @Test
    void tryAcquireRefusesWithoutSideEffectsWhenTheBlocksCannotBeHad() {
        try (var cache = new KvCacheManager(MODEL, LAYOUT, BLOCK, 4 * BLOCK, PolicyKind.LRU)) {
            KvCacheManager.Sequence big = cache.tryAcquire(prompt(1, 3 * BLOCK), 0);
            assertFalse(big == null);
            long lookups = cache.indexStats().lookups();
            assertNull(cache.tryAcquire(prompt(2, 2 * BLOCK), 0));
            assertNull(cache.tryAcquire(prompt(2, BLOCK), 1), "the reserve counts");
            assertEquals(lookups, cache.indexStats().lookups(), "a refusal counts no lookup");
            assertTrue(cache.allocateSlots(big, 4 * BLOCK));
            assertFalse(cache.allocateSlots(big, 5 * BLOCK));
            cache.checkInvariants();
            cache.abort(big);
            assertEquals(0, cache.usedBlocks());
        }
    }
}
