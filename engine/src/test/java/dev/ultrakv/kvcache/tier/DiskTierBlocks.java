package dev.ultrakv.kvcache.tier;

import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/** Deterministic test blocks: block {@code i} has its own key and a payload that only {@code i} and a size make. */
final class DiskTierBlocks {
    static final String NAMESPACE = "disk-tier-test | FLOAT32 blocks of 16";

    private DiskTierBlocks() {
    }

    static BlockKey key(int i) {
        return BlockKey.first(NAMESPACE, new int[] {i}, 0, 1);
    }

    static List<BlockKey> keys(int from, int to) {
        List<BlockKey> keys = new ArrayList<>(to - from);
        for (int i = from; i < to; i++) {
            keys.add(key(i));
        }
        return keys;
    }

    static byte[] payload(int i, int bytes) {
        byte[] payload = new byte[bytes];
        new Random(i * 31L + bytes).nextBytes(payload);
        return payload;
    }

    static byte[] record(int i, int payloadBytes) {
        return BlockRecord.encode(key(i), NAMESPACE, payload(i, payloadBytes));
    }

    /**
     * The record of block {@code i} with a payload that is cheap to make at any size: one shared random pattern
     * with {@code i} written over its first four bytes.
     */
    static byte[] stampedRecord(int i, byte[] pattern) {
        byte[] payload = pattern.clone();
        java.nio.ByteBuffer.wrap(payload).putInt(0, i);
        return BlockRecord.encode(key(i), NAMESPACE, payload);
    }
}
