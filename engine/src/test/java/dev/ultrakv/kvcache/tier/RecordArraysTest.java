package dev.ultrakv.kvcache.tier;

import org.junit.jupiter.api.Test;

import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class RecordArraysTest {
    @Test
    void anArrayGivenBackCarriesTheNextTakeOfItsLength() {
        RecordArrays arrays = new RecordArrays(1 << 20);
        byte[] first = arrays.take(100);
        assertEquals(100, first.length);
        arrays.give(first);
        assertEquals(100, arrays.keptBytes());
        assertNotSame(first, arrays.take(101), "another length gets an array of its own");
        assertSame(first, arrays.take(100));
        assertEquals(0, arrays.keptBytes());
        assertNotSame(first, arrays.take(100), "taken once, it is not handed out again");
    }

    @Test
    void nothingIsKeptBeyondTheBound() {
        RecordArrays arrays = new RecordArrays(250);
        arrays.give(new byte[100]);
        arrays.give(new byte[100]);
        arrays.give(new byte[100]);
        assertEquals(200, arrays.keptBytes());
        arrays.give(new byte[50]);
        assertEquals(250, arrays.keptBytes());
        RecordArrays none = new RecordArrays(0);
        none.give(new byte[1]);
        assertEquals(0, none.keptBytes());
    }

    @Test
    void anArrayGivenBackTwiceIsHandedOutOnce() {
        RecordArrays arrays = new RecordArrays(1 << 20);
        byte[] array = new byte[64];
        arrays.give(array);
        arrays.give(array);
        assertEquals(64, arrays.keptBytes());
        assertSame(array, arrays.take(64));
        assertNotSame(array, arrays.take(64));
    }

    @Test
    void manyThreadsNeverShareAnArray() throws Exception {
        RecordArrays arrays = new RecordArrays(1 << 20);
        Set<byte[]> held = Collections.synchronizedSet(Collections.newSetFromMap(new IdentityHashMap<>()));
        Thread[] threads = new Thread[4];
        boolean[] shared = new boolean[1];
        for (int t = 0; t < threads.length; t++) {
            threads[t] = Thread.ofPlatform().start(() -> {
                for (int i = 0; i < 20_000; i++) {
                    byte[] array = arrays.take(1024);
                    if (!held.add(array)) {
                        shared[0] = true;
                    }
                    held.remove(array);
                    arrays.give(array);
                }
            });
        }
        for (Thread thread : threads) {
            thread.join();
        }
        assertTrue(!shared[0], "an array was held by two threads at once");
        assertTrue(arrays.keptBytes() <= 4 * 1024, "at most one array per thread was ever needed");
    }

    @Test
    void aNegativeBoundIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> new RecordArrays(-1));
    }
}
