package dev.ultrakv.kvcache;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class KvBlockLayoutTest {

    @Test
    void everySlotOfEveryHeadHasItsOwnAlignedBytesInsideItsBlock() {
        SplittableRandom random = new SplittableRandom(3);
        for (int i = 0; i < 40; i++) {
            int kvHeads = 1 + random.nextInt(4);
            KvLayout layout = new KvLayout(1 + random.nextInt(3), kvHeads * (1 + random.nextInt(3)), kvHeads,
                    1 + random.nextInt(20));
            KvBlockLayout blocks = KvBlockLayout.float32(layout, 1 << random.nextInt(6));
            assertEquals(0, blocks.blockBytes() % KvBlockLayout.ALIGNMENT_BYTES, blocks.toString());
            boolean[] used = new boolean[(int) blocks.blockBytes()];
            int block = 1 + random.nextInt(5);
            long base = block * blocks.blockBytes();
            for (int layer = 0; layer < layout.layers(); layer++) {
                assertEquals(0, blocks.keyOffset(block, layer, 0, 0) % KvBlockLayout.ALIGNMENT_BYTES);
                assertEquals(0, blocks.valueOffset(block, layer, 0, 0) % KvBlockLayout.ALIGNMENT_BYTES);
                for (int h = 0; h < kvHeads; h++) {
                    for (int slot = 0; slot < blocks.blockSize(); slot++) {
                        claim(used, blocks.keyOffset(block, layer, h, slot) - base, blocks.slotBytes(), blocks);
                        claim(used, blocks.valueOffset(block, layer, h, slot) - base, blocks.slotBytes(), blocks);
                        if (slot > 0) {
                            assertEquals(blocks.slotBytes(),
                                    blocks.keyOffset(block, layer, h, slot) - blocks.keyOffset(block, layer, h,
                                            slot - 1), "a head's positions are one contiguous run");
                        }
                    }
                }
            }
        }
    }

    private static void claim(boolean[] used, long from, long bytes, KvBlockLayout blocks) {
        assertEquals(0, from % Float.BYTES);
        for (long b = from; b < from + bytes; b++) {
            assertTrue(b >= 0 && b < used.length, "byte " + b + " outside the block of " + blocks);
            assertTrue(!used[(int) b], "byte " + b + " used twice in " + blocks);
            used[(int) b] = true;
        }
    }

    @Test
    void blocksOfSixteenFloatPositionsNeedNoPadding() {
        KvLayout layout = new KvLayout(5, 8, 4, 8);
        assertEquals(16 * layout.float32BytesPerToken(), KvBlockLayout.float32(layout, 16).blockBytes());
    }
}
