package dev.ultrakv.kvcache;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class BlockTableTest {

    @Test
    void growsPastItsInitialCapacityKeepingOrder() {
        BlockTable table = new BlockTable(0);
        for (int i = 0; i < 100; i++) {
            table.add(1000 - i);
        }
        assertEquals(100, table.size());
        assertEquals(1000, table.get(0));
        assertEquals(901, table.get(99));
        assertEquals(901, table.removeLast());
        assertEquals(99, table.toArray().length);
        table.clear();
        assertTrue(table.isEmpty());
        assertArrayEquals(new int[0], table.toArray());
    }

    @Test
    void readsOutsideTheTableFail() {
        BlockTable table = new BlockTable();
        table.add(3);
        assertThrows(IndexOutOfBoundsException.class, () -> table.get(1));
        table.removeLast();
        assertThrows(IllegalStateException.class, table::removeLast);
        assertThrows(IllegalArgumentException.class, () -> new BlockTable(-1));
    }
}
