package dev.ultrakv.scheduler;

import dev.ultrakv.kvcache.KvCacheManager;
import dev.ultrakv.kvcache.KvCacheSpec;
import dev.ultrakv.kvcache.KvLayout;
import dev.ultrakv.kvcache.policy.PolicyKind;
import dev.ultrakv.kvcache.tier.InMemoryKvTier;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The LOADING state without a model: a request whose prompt runs past its memory prefix waits for the tiers out
 * of the queue, holding no block and taking no row, while others step; it comes back when the load is done or its
 * timeout passes on the scheduler's ticker; the tiers are asked once per admission; an abort while loading leaves
 * nothing behind.
 */
class SchedulerLoadingTest {
    private static final KvLayout LAYOUT = new KvLayout(1, 2, 1, 4);
    private static final int BLOCK = 4;
    private static final Duration LOAD_TIMEOUT = Duration.ofMillis(100);

    private static final class ManualTicker implements Ticker {
        long now;

        @Override
        public long read() {
            return now;
        }
    }

    private final ManualTicker ticker = new ManualTicker();
    private final InMemoryKvTier tier = new InMemoryKvTier(new InMemoryKvTier.Store())
            .mode(InMemoryKvTier.Mode.HOLDING);

    private KvCacheManager cache() {
        return new KvCacheManager("test-model", LAYOUT, KvCacheSpec.ofTokens(BLOCK, 64, PolicyKind.LRU),
                List.of(tier), LOAD_TIMEOUT);
    }

    private Scheduler<SequenceState> scheduler(KvCacheManager cache) {
        return new Scheduler<>(cache, SchedulerConfig.builder().stepTokens(32).build(), ticker);
    }

    private static int[] tokens(int from, int count) {
        int[] t = new int[count];
        for (int i = 0; i < count; i++) {
            t[i] = from + i;
        }
        return t;
    }

    /** Runs a step: its rows are computed and every sequence that samples gets token 7 or finishes. */
    private static void step(Scheduler<SequenceState> scheduler, KvCacheManager cache) {
        StepPlan<SequenceState> plan = scheduler.schedule();
        scheduler.completeStep(plan);
        for (SequenceState s : plan.batch()) {
            if (s.samplesThisStep() || s.computed() == s.length()) {
                if (s.generated() + 1 == s.maxNewTokens()) {
                    scheduler.finish(s);
                } else {
                    s.append(7);
                }
            }
        }
        cache.checkInvariants();
    }

    @Test
    void aLoadingRequestHoldsNoBlockAndTakesNoRowWhileOthersStep() {
        try (KvCacheManager cache = cache()) {
            Scheduler<SequenceState> scheduler = scheduler(cache);
            AtomicInteger wakes = new AtomicInteger();
            scheduler.onLoadDone(wakes::incrementAndGet);
            SequenceState loading = new SequenceState(0, 2, 0, tokens(10, 3 * BLOCK + 1), 2);
            SequenceState small = new SequenceState(1, 2, 0, tokens(50, BLOCK - 1), 3);
            scheduler.add(loading);
            scheduler.add(small);

            StepPlan<SequenceState> first = scheduler.schedule();
            assertEquals(SequenceState.Status.LOADING, loading.status());
            assertEquals(List.of(small), first.batch(), "a prompt under one block has nothing to load");
            assertEquals(1, scheduler.loadingCount());
            assertEquals(1, scheduler.waitingCount(), "waiting counts the loading request");
            assertEquals(1, tier.loads());
            assertEquals(1, cache.usedBlocks(), "only the small request holds a block");
            scheduler.completeStep(first);
            small.append(7);

            while (small.status() != SequenceState.Status.DONE) {
                step(scheduler, cache);
                assertEquals(SequenceState.Status.LOADING, loading.status());
            }
            assertEquals(0, wakes.get());
            tier.releaseHeld();
            assertEquals(1, wakes.get(), "a finished load wakes the loop");

            StepPlan<SequenceState> back = scheduler.schedule();
            assertEquals(List.of(loading), back.admitted(), "the tier had nothing: it computes the whole prompt");
            assertEquals(0, loading.cachedPromptTokens());
            assertEquals(1, tier.loads(), "the tiers are asked once per admission");
            assertEquals(0, cache.tiers().recomputedLoads(), "a miss is no fallback");
        }
    }

    @Test
    void aLoadPastItsTimeoutOnTheTickerIsAbandonedAndTheRequestComputes() {
        try (KvCacheManager cache = cache()) {
            Scheduler<SequenceState> scheduler = scheduler(cache);
            SequenceState s = new SequenceState(0, 2, 0, tokens(10, 2 * BLOCK + 1), 2);
            scheduler.add(s);
            assertTrue(scheduler.schedule().isEmpty());
            ticker.now += LOAD_TIMEOUT.toNanos() - 1;
            assertTrue(scheduler.schedule().isEmpty(), "not yet");
            ticker.now += 1;
            StepPlan<SequenceState> plan = scheduler.schedule();
            assertEquals(List.of(s), plan.admitted());
            assertEquals(1, cache.tiers().recomputedLoads());
            assertEquals(1, tier.heldLoads(), "the tier's answer, if it ever comes, is ignored");
            tier.releaseHeld();
            scheduler.completeStep(plan);
            cache.checkInvariants();
        }
    }

    @Test
    void anAbortWhileLoadingLeavesNothingBehind() {
        try (KvCacheManager cache = cache()) {
            Scheduler<SequenceState> scheduler = scheduler(cache);
            SequenceState s = new SequenceState(0, 2, 0, tokens(10, 2 * BLOCK + 1), 2);
            scheduler.add(s);
            scheduler.schedule();
            assertEquals(SequenceState.Status.LOADING, s.status());
            scheduler.abort(s);
            assertEquals(SequenceState.Status.DONE, s.status());
            assertEquals(0, scheduler.loadingCount());
            assertEquals(0, scheduler.waitingCount());
            tier.releaseHeld();
            assertTrue(scheduler.schedule().isEmpty());
            cache.checkInvariants();
            assertEquals(0, cache.usedBlocks());
            assertEquals(0, cache.liveSequences());
            assertFalse(scheduler.abortAll().contains(s));
        }
    }
}
