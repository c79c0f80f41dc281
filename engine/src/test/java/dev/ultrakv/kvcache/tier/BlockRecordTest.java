package dev.ultrakv.kvcache.tier;

import org.junit.jupiter.api.Test;

import java.util.Arrays;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

class BlockRecordTest {
    private static final String NAMESPACE = "model-a | FLOAT32 blocks of 4";

    @Test
    void keysChainOverEveryEarlierBlockAndTheNamespace() {
        int[] tokens = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        BlockKey[] keys = BlockKey.chain(NAMESPACE, tokens, tokens.length, 4);
        assertEquals(2, keys.length, "only full blocks have keys");
        assertEquals(keys[1], BlockKey.first(NAMESPACE, tokens, 0, 4).next(tokens, 4, 8));
        int[] otherStart = {0, 2, 3, 4, 5, 6, 7, 8};
        assertNotEquals(keys[1], BlockKey.chain(NAMESPACE, otherStart, 8, 4)[1],
                "a block's key depends on the blocks before it");
        assertNotEquals(keys[0], BlockKey.chain("model-b | FLOAT32 blocks of 4", tokens, 8, 4)[0]);
        assertEquals(keys[0], BlockKey.ofDigest(keys[0].digest()));
        assertEquals(64, keys[0].hex().length());
    }

    @Test
    void recordRoundTripsItsPayloadAndNamespace() {
        byte[] payload = new byte[1000];
        new Random(7).nextBytes(payload);
        BlockKey key = BlockKey.first(NAMESPACE, new int[] {1, 2, 3, 4}, 0, 4);
        byte[] record = BlockRecord.encode(key, NAMESPACE, payload);
        assertNull(BlockRecord.problem(record, key));
        assertEquals(NAMESPACE, BlockRecord.namespaceOf(record));
        assertArrayEquals(payload, BlockRecord.payload(record).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE));
    }

    @Test
    void everyFlippedBitTruncationAndForeignKeyIsDetected() {
        Random random = new Random(11);
        byte[] payload = new byte[64];
        random.nextBytes(payload);
        BlockKey key = BlockKey.first(NAMESPACE, new int[] {1, 2, 3, 4}, 0, 4);
        byte[] record = BlockRecord.encode(key, NAMESPACE, payload);
        for (int bit = 0; bit < record.length * 8; bit++) {
            byte[] flipped = record.clone();
            flipped[bit / 8] ^= (byte) (1 << (bit % 8));
            assertNotNull(BlockRecord.problem(flipped, key), "bit " + bit);
        }
        for (int length = 0; length < record.length; length++) {
            assertNotNull(BlockRecord.problem(Arrays.copyOf(record, length), key), "length " + length);
        }
        BlockKey other = BlockKey.first(NAMESPACE, new int[] {1, 2, 3, 5}, 0, 4);
        assertEquals("record of another block key", BlockRecord.problem(record, other));
    }
}
