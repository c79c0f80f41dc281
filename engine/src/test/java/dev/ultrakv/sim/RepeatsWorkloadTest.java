package dev.ultrakv.sim;

import dev.ultrakv.kvcache.policy.PolicyKind;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import java.util.Collections;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The engine's hit-rate test, run here without a model: {@code repeats(r)} gives a hit rate of r exactly. */
class RepeatsWorkloadTest {
    static final int REQUESTS = 10_000;
    /** More blocks than the whole workload needs. */
    static final int LARGE_CACHE = 30_000;
    static final int SMALL_CACHE = 256;

    @ParameterizedTest
    @CsvSource({"0.5, LRU", "0.6, ADAPTIVE"})
    void aLargeCacheHitsExactlyTheRepeats(double share, PolicyKind policy) {
        Workload workload = Workloads.repeats(REQUESTS, share, 7);
        SimulationResult result = Simulator.replay(workload, policy, LARGE_CACHE);
        assertEquals(share, result.fullHitRate(), 0.005);
        assertEquals(Math.round(share * REQUESTS), result.requestHits(),
                "the first of each prompt misses, each repeat hits");
        assertEquals(0, result.evictions());
    }

    @ParameterizedTest
    @EnumSource(value = PolicyKind.class, names = "OPTIMAL", mode = EnumSource.Mode.EXCLUDE)
    void aSmallCacheHitsLessAndCountsItsEvictions(PolicyKind policy) {
        SimulationResult result = Simulator.replay(Workloads.repeats(REQUESTS, 0.5, 7), policy, SMALL_CACHE);
        assertTrue(result.fullHitRate() < 0.45, result.toString());
        assertTrue(result.evictions() > REQUESTS / 2, result.toString());
    }

    @ParameterizedTest
    @CsvSource({"0.5", "0.6", "0"})
    void exactlyTheShareRepeatsAndEveryNewPromptIsNew(double share) {
        Workload workload = Workloads.repeats(REQUESTS, share, 11);
        Set<TraceRequest> seen = Collections.newSetFromMap(new IdentityHashMap<>());
        Set<Integer> numbers = new HashSet<>();
        int repeats = 0;
        for (TraceRequest request : workload.requests()) {
            if (!seen.add(request)) {
                repeats++;
            } else {
                assertTrue(numbers.add(request.prompt()[0] * 100_000 + request.prompt()[1]),
                        "each new prompt starts with its own two tokens");
                assertTrue(request.prompt().length >= 4 && request.prompt().length <= 40);
            }
        }
        assertEquals(Math.round(share * REQUESTS), repeats);
        assertEquals("repeats(" + (share == 0 ? "0" : String.valueOf(share)) + ")", workload.name());
    }

    @ParameterizedTest
    @CsvSource({"512", "32000"})
    void tokensStayInsideTheVocabulary(int vocabulary) {
        for (TraceRequest request : Workloads.repeats(2_000, 0.5, 3, vocabulary).requests()) {
            for (int token : request.sequence()) {
                assertTrue(token >= Workloads.FIRST_TOKEN && token < vocabulary);
            }
        }
    }
}
