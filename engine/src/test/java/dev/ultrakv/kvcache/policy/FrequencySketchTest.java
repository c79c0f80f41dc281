package dev.ultrakv.kvcache.policy;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class FrequencySketchTest {

    @Test
    void estimatesCountReferencesAndSaturate() {
        var sketch = new FrequencySketch(1_000);
        assertEquals(0, sketch.frequency(42));
        for (int i = 1; i <= 20; i++) {
            sketch.increment(42);
            assertEquals(Math.min(i, FrequencySketch.MAX_COUNT), sketch.frequency(42));
        }
    }

    @Test
    void countersAreHalvedAfterASample() {
        var sketch = new FrequencySketch(4); // sample of 40 references
        for (int i = 0; i < 10; i++) {
            assertFalse(sketch.increment(7));
        }
        for (int i = 0; i < 29; i++) {
            assertFalse(sketch.increment(1_000 + i));
        }
        assertTrue(sketch.increment(99), "the 40th reference completes the sample");
        assertEquals(5, sketch.frequency(7));
    }

    @Test
    void rareKeysAmongManyStayRare() {
        var sketch = new FrequencySketch(1_000);
        var random = new SplittableRandom(3);
        for (int i = 0; i < 5_000; i++) {
            sketch.increment(random.nextLong());
        }
        int overestimated = 0;
        for (int i = 0; i < 1_000; i++) {
            if (sketch.frequency(random.nextLong()) > 1) {
                overestimated++;
            }
        }
        assertTrue(overestimated < 10, overestimated + " unseen keys look seen twice or more");
    }
}
