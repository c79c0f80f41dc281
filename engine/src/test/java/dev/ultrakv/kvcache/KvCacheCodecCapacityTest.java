package dev.ultrakv.kvcache;

import dev.ultrakv.kvcache.codec.KvCodecKind;
import dev.ultrakv.kvcache.compress.KvCompression;
import dev.ultrakv.kvcache.policy.PolicyKind;
import dev.ultrakv.model.synthetic.SyntheticShape;
import org.junit.jupiter.api.Test;

import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The pool's capacity follows the codec: fewer bytes for the same positions, more positions for the same bytes. */
class KvCacheCodecCapacityTest {
    private static final int BLOCK = 16;
    /** llama2.c's stories110M: 12 layers, 12 heads of 64. */
    private static final KvLayout LLAMA_110M = new KvLayout(SyntheticShape.LLAMA_110M.layers(),
            SyntheticShape.LLAMA_110M.heads(), SyntheticShape.LLAMA_110M.kvHeads(),
            SyntheticShape.LLAMA_110M.dim() / SyntheticShape.LLAMA_110M.heads());
    private static final int CONTEXT = SyntheticShape.LLAMA_110M.contextLength();

    private static KvCacheManager cache(KvCodecKind codec, long maxTokens, long maxBytes) {
        return new KvCacheManager("m", LLAMA_110M,
                new KvCacheSpec(BLOCK, maxTokens, maxBytes, PolicyKind.LRU, codec, KvCompression.NONE));
    }

    @Test
    void withMaxTokensFixedAQuantizedCacheTakesFewerBytes() {
        long previous = Long.MAX_VALUE;
        for (KvCodecKind codec : KvCodecKind.values()) {
            try (KvCacheManager cache = cache(codec, 256, 0)) {
                assertEquals(256, cache.capacityTokens(), codec.toString());
                assertTrue(cache.capacityBytes() < previous, codec + " is smaller than the codec before it");
                previous = cache.capacityBytes();
            }
        }
    }

    @Test
    void withABudgetFixedAQuantizedCacheHoldsMoreTokens() {
        long budget = 8L << 20;
        long previous = 0;
        for (KvCodecKind codec : KvCodecKind.values()) {
            try (KvCacheManager cache = cache(codec, 1, budget)) {
                assertTrue(cache.capacityBytes() <= budget);
                assertTrue(cache.capacityTokens() > previous, codec + " holds more than the codec before it");
                previous = cache.capacityTokens();
            }
        }
    }

    /**
     * The budget on llama-110m shapes, counting scales and the full-precision window of one sequence of the
     * context length: int8 ≤ 0.27, int4 ≤ 0.15, int2 ≤ 0.09 of float32.
     */
    @Test
    void bytesPerTokenOnLlama110mShapesMeetTheBudget() {
        Map<KvCodecKind, Double> limits = Map.of(KvCodecKind.INT8, 0.27, KvCodecKind.INT4, 0.15,
                KvCodecKind.INT2, 0.09, KvCodecKind.F16, 0.52);
        double float32;
        try (KvCacheManager cache = cache(KvCodecKind.F32, BLOCK, 0)) {
            float32 = cache.kvBytesPerToken(CONTEXT);
            assertEquals(LLAMA_110M.float32BytesPerToken(), float32, 1e-9);
        }
        for (var limit : limits.entrySet()) {
            try (KvCacheManager cache = cache(limit.getKey(), BLOCK, 0)) {
                double ratio = cache.kvBytesPerToken(CONTEXT) / float32;
                assertTrue(ratio <= limit.getValue(), limit.getKey() + ": " + ratio + " of float32");
            }
        }
    }
}
