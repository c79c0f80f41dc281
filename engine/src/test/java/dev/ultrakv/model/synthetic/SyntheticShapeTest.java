package dev.ultrakv.model.synthetic;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class SyntheticShapeTest {

    @Test
    void namedShapes_haveTheAgreedHyperparameters() {
        SyntheticShape s = SyntheticShape.named("llama-110m");
        assertEquals(new SyntheticShape("llama-110m", 768, 12, 12, 12, 2048, 32000, 2048), s);
        assertEquals(64, s.headSize());
        SyntheticShape g = SyntheticShape.named("llama-1b-gqa");
        assertEquals(new SyntheticShape("llama-1b-gqa", 2048, 22, 32, 4, 5632, 32000, 2048), g);
        assertEquals(256, g.kvDim());
        // TinyLlama 1.1B has 1,100,048,384 parameters with its untied output matrix
        assertEquals(1_100_048_384L, g.parameterCount());
        // Gemma 2 2B has 2,614,341,888 parameters (tied)
        assertEquals(2_614_341_888L, SyntheticShape.named("gemma2-2b").parameterCount());
        assertEquals(15, SyntheticShape.named().size());
    }

    @Test
    void unknownName_listsTheKnownOnes() {
        var e = assertThrows(IllegalArgumentException.class, () -> SyntheticShape.named("llama-7b"));
        assertEquals("unknown synthetic shape 'llama-7b' (known: test-tiny, test-small, llama-110m, llama-1b-gqa,"
                + " test-llama3, llama3.2-1b, test-mistral, test-qwen2, qwen2.5-0.5b, test-qwen3, qwen3-0.6b,"
                + " test-phi3, phi3-mini, test-gemma2, gemma2-2b)", e.getMessage());
    }

    @Test
    void inconsistentShapes_areRejected() {
        assertThrows(IllegalArgumentException.class, () -> new SyntheticShape("x", 64, 1, 5, 1, 64, 300, 8));
        assertThrows(IllegalArgumentException.class, () -> new SyntheticShape("x", 64, 1, 4, 3, 64, 300, 8));
        var e = assertThrows(IllegalArgumentException.class, () -> new SyntheticShape("x", 64, 1, 4, 2, 64, 100, 8));
        assertTrue(e.getMessage().contains("259"), e.getMessage());
    }
}
