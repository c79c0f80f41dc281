package dev.ultrakv.kvcache.tier;

import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The bounded set of keys a tier is known to hold: what is added is held until forgotten or pushed out. */
class KnownKeysTest {
    private static List<BlockKey> keys(int count) {
        int[] tokens = new int[count * 2];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = i * 31 + 7;
        }
        return List.of(BlockKey.chain("model | layout", tokens, tokens.length, 2));
    }

    @Test
    void anAddedKeyIsHeldUntilForgotten() {
        KnownKeys known = new KnownKeys(1 << 10);
        List<BlockKey> keys = keys(100);
        keys.subList(0, 50).forEach(known::add);
        for (int i = 0; i < 100; i++) {
            assertTrue(known.contains(keys.get(i)) == i < 50, "key " + i);
        }
        known.forget(keys.get(3));
        assertFalse(known.contains(keys.get(3)));
        known.forget(keys.get(70));
        assertTrue(known.contains(keys.get(4)), "forgetting a key not held changes nothing");
    }

    @Test
    void aFullSetForgetsOlderKeysAndNeverGrows() {
        KnownKeys known = new KnownKeys(16);
        List<BlockKey> keys = keys(1000);
        keys.forEach(known::add);
        List<BlockKey> held = new ArrayList<>();
        for (BlockKey key : keys) {
            if (known.contains(key)) {
                held.add(key);
            }
        }
        assertTrue(held.size() <= 16, "at most its capacity: " + held.size());
        assertTrue(held.contains(keys.getLast()), "the newest key is held");
    }

    @Test
    void aCapacityThatIsNotAPowerOfTwoIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new KnownKeys(12));
    }
}
