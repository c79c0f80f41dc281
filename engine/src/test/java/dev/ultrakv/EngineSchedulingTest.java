package dev.ultrakv;

import dev.ultrakv.kvcache.KvCacheManager;
import dev.ultrakv.kvcache.policy.PolicyKind;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.synthetic.SyntheticShape;
import dev.ultrakv.sampling.Sampler;
import dev.ultrakv.scheduler.SchedulerConfig;
import org.junit.jupiter.api.Test;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The engine under load: priorities decide who runs when it is saturated, and a cache too small for everything
 * that runs preempts instead of failing anyone.
 */
class EngineSchedulingTest {
    /** Random weights: greedy decoding rarely meets the end-of-sequence token, so generations run their length. */
    private static final ModelSource MODEL = ModelSource.synthetic(SyntheticShape.TEST_SMALL, 3);
    private static final Duration DEADLINE = Duration.ofMinutes(2);
    /** No request ages into another level during these tests. */
    private static final Duration NO_AGEING = Duration.ofHours(1);

    private static Request request(String id, int priority, String text, int newTokens) {
        return Request.builder().id(id).priority(priority).text(text).maxNewTokens(newTokens).build();
    }

    @Test
    void criticalRequestsSentToASaturatedEngineGetTheirFirstTokenBeforeAnyWaitingBackgroundRequestStarts() {
        KVCacheConfig config = KVCacheConfig.builder().model(MODEL).maxTokens(4096).build();
        SchedulerConfig scheduling = SchedulerConfig.builder().maxRunningSequences(2).ageingInterval(NO_AGEING)
                .build();
        List<String> firstTokens = Collections.synchronizedList(new ArrayList<>());
        TokenListener log = token -> {
            if (token.index() == 0) {
                firstTokens.add(token.requestId());
            }
        };
        assertTimeoutPreemptively(DEADLINE, () -> {
            try (var engine = new UltraAdaptiveKVCacheEngine(config, scheduling)) {
                List<CompletableFuture<RequestResult>> futures = new ArrayList<>();
                for (int i = 0; i < 8; i++) {
                    futures.add(engine.processRequest(request("b" + i, 4, "background job " + (char) ('a' + i)
                            + " of the night", 40), log));
                }
                List<CompletableFuture<RequestResult>> critical = new CopyOnWriteArrayList<>();
                AtomicBoolean sent = new AtomicBoolean();
                while (!sent.get()) {
                    engine.onScheduler(scheduler -> {
                        if (scheduler.runningCount() == 2) {
                            assertEquals(6, scheduler.waitingCount(), "b2..b7 wait behind b0 and b1");
                            for (int i = 0; i < 3; i++) {
                                critical.add(engine.processRequest(request("c" + i, 0, "urgent " + i, 4), log));
                            }
                            sent.set(true);
                        }
                    }).join();
                }
                critical.forEach(CompletableFuture::join);
                futures.forEach(CompletableFuture::join);
                for (int c = 0; c < 3; c++) {
                    for (int b = 2; b < 8; b++) {
                        assertTrue(firstTokens.indexOf("c" + c) < firstTokens.indexOf("b" + b),
                                "c" + c + " before b" + b + ": " + firstTokens);
                    }
                }
                EngineStats stats = engine.getStats();
                assertEquals(11, stats.totalRequests(), "every background request finished too");
                assertTrue(stats.preemptions() > 0, "the critical requests took b0's and b1's places");
            }
        });
    }

    @Test
    void aCacheTooSmallForEveryRunningRequestCompletesThemAllWithPreemptionsAndNoLeakedBlock() {
        int blockSize = 8;
        KVCacheConfig config = KVCacheConfig.builder().model(MODEL).blockSize(blockSize).maxTokens(24 * blockSize)
                .build();
        List<Request> requests = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            requests.add(request("m" + i, i % 5, "memory pressure " + "x".repeat(1 + 3 * i), 40));
        }
        List<int[]> expected = new ArrayList<>();
        try (LlamaModel model = MODEL.load();
             KvCacheManager cache = new KvCacheManager(model.name(), model.config().kvLayout(), 16, 4096,
                     PolicyKind.LRU)) {
            SequenceRunner runner = new SequenceRunner(model, cache);
            for (Request r : requests) {
                expected.add(runner.run(model.tokenizer().encode(r.text(), true), r.maxNewTokens(),
                        Sampler.greedy(model.config().vocabularySize()), null).generated());
            }
        }
        assertTimeoutPreemptively(DEADLINE, () -> {
            try (var engine = new UltraAdaptiveKVCacheEngine(config)) {
                List<CompletableFuture<RequestResult>> futures = new ArrayList<>();
                for (Request r : requests) {
                    futures.add(engine.processRequest(r));
                }
                int positions = 0;
                for (int i = 0; i < requests.size(); i++) {
                    RequestResult r = futures.get(i).join();
                    assertArrayEquals(expected.get(i), r.generatedTokenIds(), r.toString());
                    positions += r.promptTokens() + r.generatedTokens();
                }
                assertTrue(positions > 2 * 24 * blockSize, "the requests need more than twice the cache: "
                        + positions);
                EngineStats stats = engine.getStats();
                assertEquals(requests.size(), stats.totalRequests());
                assertEquals(0, stats.failedRequests());
                assertTrue(stats.preemptions() > 0, stats.toString());
                engine.onLoop(cache -> {
                    cache.checkInvariants();
                    assertEquals(0, cache.liveSequences());
                    assertEquals(0, cache.pinnedBlocks());
                    assertEquals(cache.cachedBlocks(), cache.usedBlocks(), "every block in use is cached");
                }).join();
            }
        });
    }
}
