package dev.ultrakv.kvcache;

import org.junit.jupiter.api.Test;

import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * A dense store of a huge capacity holds what was written, no more than twice that, and attends exactly as one
 * that was large enough from the start.
 */
class DenseKvStoreGrowthTest {
    private static final KvLayout LAYOUT = new KvLayout(2, 4, 2, 8);

    @Test
    void aHugeCapacityAllocatesOnlyThePositionsWrittenAndAttendsAsAStoreOfTheExactCapacity() {
        int positions = 1000;
        DenseKvStore growing = new DenseKvStore(LAYOUT, 1_000_000_000);
        DenseKvStore dense = new DenseKvStore(LAYOUT, positions);
        Random random = new Random(42);
        int kvDim = LAYOUT.kvDim();
        float[] key = new float[kvDim];
        float[] value = new float[kvDim];
        float[] query = new float[LAYOUT.headSize()];
        for (int p = 0; p < positions; p++) {
            for (int layer = 0; layer < LAYOUT.layers(); layer++) {
                fill(random, key);
                fill(random, value);
                growing.write(layer, p, key, 0, value, 0);
                dense.write(layer, p, key, 0, value, 0);
            }
            fill(random, query);
            for (int head = 0; head < LAYOUT.heads(); head++) {
                float[] fromGrowing = new float[LAYOUT.headSize()];
                float[] fromDense = new float[LAYOUT.headSize()];
                growing.attend(1, head, p, query, 0, fromGrowing, 0, new float[p + 1]);
                dense.attend(1, head, p, query, 0, fromDense, 0, new float[p + 1]);
                assertArrayEquals(fromDense, fromGrowing);
            }
        }
        assertEquals(1_000_000_000, growing.capacity());
        assertTrue(growing.allocatedPositions() < 2 * positions, "allocated " + growing.allocatedPositions());
    }

    @Test
    void aWriteBeyondTheCapacityIsRefused() {
        DenseKvStore store = new DenseKvStore(LAYOUT, 3);
        float[] kv = new float[LAYOUT.kvDim()];
        store.write(0, 2, kv, 0, kv, 0);
        assertThrows(IndexOutOfBoundsException.class, () -> store.write(0, 3, kv, 0, kv, 0));
    }

    private static void fill(Random random, float[] values) {
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
    }
}
