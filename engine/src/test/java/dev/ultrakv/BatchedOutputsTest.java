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
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Continuous batching does not change what a request generates: prompts of mixed lengths, arriving while others
 * decode, chunked and mixed with other sequences' tokens in every step, give the tokens of the same request run
 * alone, greedy or sampled with a seed.
 *
 * <h2>Notes</h2>
 * A row's logits do not depend on the rows beside it (BatchInvarianceTest), so the comparison is exact. The
 * reference is {@link SequenceRunner}, one sequence from prompt to stop over a cache of its own.
 */
class BatchedOutputsTest {
    private static final ModelSource MODEL = ModelSource.synthetic(SyntheticShape.TEST_SMALL, 11);
    /** Rows per step: small, so that prompts are cut into chunks that share steps with decode tokens. */
    private static final int STEP_TOKENS = 24;
    private static final int NEW_TOKENS = 20;
    private static final Duration DEADLINE = Duration.ofMinutes(2);
    private static final String[] WORDS = "the a little girl named lily loved to play outside in park one day"
            .split(" ");

    /** A request of about {@code words} words; every third is sampled at temperature 0.8 with its own seed. */
    private static Request request(int i, int words) {
        SplittableRandom random = new SplittableRandom(i);
        StringBuilder text = new StringBuilder();
        for (int w = 0; w < words; w++) {
            text.append(w == 0 ? "" : " ").append(WORDS[random.nextInt(WORDS.length)]);
        }
        Request.Builder b = Request.builder().text(text.toString()).maxNewTokens(NEW_TOKENS).id("r" + i);
        return i % 3 == 2 ? b.temperature(0.8f).seed(100 + i).build() : b.build();
    }

    private static int[] alone(LlamaModel model, Request request) {
        int[] prompt = model.tokenizer().encode(request.text(), true);
        Sampler sampler = new Sampler(model.config().vocabularySize(), request.temperature(), 0f, 0,
                request.seed());
        try (KvCacheManager cache = new KvCacheManager(model.name(), model.config().kvLayout(), 16, 4096,
                PolicyKind.LRU)) {
            return new SequenceRunner(model, cache).run(prompt, request.maxNewTokens(), sampler, null).generated();
        }
    }

    @Test
    void staggeredRequestsOfMixedLengthsGenerateUnderBatchingWhatTheyGenerateAlone() {
        int[] lengths = {1, 40, 3, 25, 9, 60, 2, 17, 33, 5, 12, 48};
        List<Request> requests = new ArrayList<>();
        for (int i = 0; i < lengths.length; i++) {
            requests.add(request(i, lengths[i]));
        }
        List<int[]> expected = new ArrayList<>();
        try (LlamaModel model = MODEL.load()) {
            for (Request r : requests) {
                expected.add(alone(model, r));
            }
        }
        KVCacheConfig config = KVCacheConfig.builder().model(MODEL).maxTokens(4096).build();
        SchedulerConfig scheduling = SchedulerConfig.builder().stepTokens(STEP_TOKENS).maxRunningSequences(8)
                .build();
        assertTimeoutPreemptively(DEADLINE, () -> {
            try (var engine = new UltraAdaptiveKVCacheEngine(config, scheduling)) {
                List<CompletableFuture<RequestResult>> futures = new ArrayList<>();
                for (int wave = 0; wave < 3; wave++) {
                    CountDownLatch decoding = new CountDownLatch(1);
                    for (int i = wave * 4; i < wave * 4 + 4; i++) {
                        futures.add(engine.processRequest(requests.get(i), token -> {
                            if (token.index() == 2) {
                                decoding.countDown();
                            }
                        }));
                    }
                    assertTrue(decoding.await(1, TimeUnit.MINUTES), "wave " + wave + " never decoded");
                }
                for (int i = 0; i < requests.size(); i++) {
                    RequestResult r = futures.get(i).join();
                    assertEquals("r" + i, r.id());
                    assertArrayEquals(expected.get(i), r.generatedTokenIds(), requests.get(i).toString());
                }
                engine.onLoop(cache -> {
                    cache.checkInvariants();
                    assertEquals(0, cache.liveSequences());
                }).join();
            }
        });
    }

    @Test
    void aBatchGeneratesWhatItsRequestsGenerateAlone() {
        List<Request> requests = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            requests.add(request(50 + i, 1 + (i * 7) % 30));
        }
        List<int[]> expected = new ArrayList<>();
        try (LlamaModel model = MODEL.load()) {
            for (Request r : requests) {
                expected.add(alone(model, r));
            }
        }
        KVCacheConfig config = KVCacheConfig.builder().model(MODEL).maxTokens(4096).build();
        SchedulerConfig scheduling = SchedulerConfig.builder().stepTokens(STEP_TOKENS).build();
        try (var engine = new UltraAdaptiveKVCacheEngine(config, scheduling)) {
            List<RequestResult> results = engine.processBatchOptimized(requests, 3).join();
            for (int i = 0; i < requests.size(); i++) {
                assertEquals(requests.get(i).id(), results.get(i).id());
                assertArrayEquals(expected.get(i), results.get(i).generatedTokenIds(), requests.get(i).toString());
            }
        }
    }
}
