package dev.ultrakv.kvcache;

import dev.ultrakv.kvcache.codec.KvCodecKind;
import dev.ultrakv.kvcache.compress.CompressionMethod;
import dev.ultrakv.kvcache.compress.KvCompression;
import dev.ultrakv.kvcache.policy.PolicyKind;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;

/**
 * An admission that {@link KvCacheManager#tryAcquire} grants can always be built: the check counts blocks by the
 * rule {@code acquire} builds the store by, for every codec and compression, and with compacted sequences (live
 * but pinning nothing) beside it. Seeded random operations on a small pool, as a scheduler drives it.
 */
class KvCacheAdmissionTest {
    private static final KvLayout LAYOUT = new KvLayout(2, 2, 1, 4);
    private static final int BLOCK = 4;
    private static final int POOL_TOKENS = 8 * BLOCK;
    private static final int OPERATIONS = 400;

    @Test
    void grantedAdmissionsFitForEveryCodecAndCompression() {
        long seed = 1;
        for (KvCodecKind codec : List.of(KvCodecKind.F32, KvCodecKind.INT8, KvCodecKind.INT4)) {
            for (KvCompression compression : List.of(KvCompression.NONE,
                    new KvCompression(CompressionMethod.STREAMING, 0.5),
                    new KvCompression(CompressionMethod.SNAPKV, 0.5),
                    new KvCompression(CompressionMethod.H2O, 0.3))) {
                for (int trial = 0; trial < 4; trial++) {
                    long s = seed++;
                    String what = codec + " " + compression + " seed " + s;
                    assertDoesNotThrow(() -> drive(codec, compression, new Random(s)), what);
                }
            }
        }
    }

    /** Admits, grows, compacts, finishes and aborts sequences at random, checking the books after each. */
    private static void drive(KvCodecKind codec, KvCompression compression, Random random) {
        var spec = new KvCacheSpec(BLOCK, POOL_TOKENS, 0, PolicyKind.LRU, codec, compression);
        try (var cache = new KvCacheManager("model", LAYOUT, spec)) {
            List<Running> live = new ArrayList<>();
            for (int op = 0; op < OPERATIONS; op++) {
                int choice = random.nextInt(10);
                if (choice < 4 || live.isEmpty()) {
                    int[] tokens = prompt(random);
                    KvCacheManager.Sequence sequence = cache.tryAcquire(tokens, 0);
                    if (sequence != null) {
                        Running r = new Running(sequence, tokens);
                        r.write(sequence.computeFrom(), tokens.length, random);
                        cache.compact(sequence);
                        live.add(r);
                    }
                } else if (choice < 8) {
                    Running r = live.get(random.nextInt(live.size()));
                    if (cache.allocateSlots(r.sequence, r.written + 1)) {
                        r.grow(random);
                        cache.compact(r.sequence);
                    } else {
                        live.remove(r);
                        cache.preempt(r.sequence, r.tokens, r.written);
                    }
                } else {
                    Running r = live.remove(random.nextInt(live.size()));
                    if (choice == 8) {
                        cache.release(r.sequence, r.tokens, r.written);
                    } else {
                        cache.abort(r.sequence);
                    }
                }
                cache.checkInvariants();
            }
            live.forEach(r -> cache.abort(r.sequence));
            cache.checkInvariants();
            assertEquals(0, cache.pinnedBlocks());
        }
    }

    /** One of three families of prompts sharing a beginning, with a tail of its own. */
    private static int[] prompt(Random random) {
        int family = random.nextInt(3);
        int[] tokens = new int[3 + random.nextInt(14)];
        for (int i = 0; i < tokens.length; i++) {
            tokens[i] = i < 9 ? family * 100 + i : 1000 + random.nextInt(4);
        }
        return tokens;
    }

    /** A sequence and the tokens whose K/V it has written. */
    private static final class Running {
        final KvCacheManager.Sequence sequence;
        int[] tokens;
        int written;

        Running(KvCacheManager.Sequence sequence, int[] tokens) {
            this.sequence = sequence;
            this.tokens = tokens;
        }

        void write(int from, int to, Random random) {
            float[] key = new float[LAYOUT.kvDim()];
            float[] value = new float[LAYOUT.kvDim()];
            for (int position = from; position < to; position++) {
                for (int layer = 0; layer < LAYOUT.layers(); layer++) {
                    for (int i = 0; i < key.length; i++) {
                        key[i] = (float) random.nextGaussian();
                        value[i] = (float) random.nextGaussian();
                    }
                    sequence.store().write(layer, position, key, 0, value, 0);
                }
            }
            written = to;
        }

        void grow(Random random) {
            tokens = Arrays.copyOf(tokens, written + 1);
            tokens[written] = 2000 + random.nextInt(8);
            write(written, written + 1, random);
        }
    }
}
