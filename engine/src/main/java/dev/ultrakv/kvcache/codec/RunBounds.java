package dev.ultrakv.kvcache.codec;

import java.lang.foreign.MemorySegment;
import java.util.Objects;

/** The bounds check of a run, done once per call so that a bad run fails with one message before any work. */
final class RunBounds {
    private RunBounds() {
    }

    /**
     * @throws IllegalArgumentException  if {@code count} is negative
     * @throws IndexOutOfBoundsException unless {@code count} slots of {@code slotBytes} from {@code runByteOffset}
     *                                   lie inside {@code segment}
     */
    static void check(MemorySegment segment, long runByteOffset, int count, long slotBytes) {
        if (count < 0) {
            throw new IllegalArgumentException("negative slot count: " + count);
        }
        Objects.checkFromIndexSize(runByteOffset, Math.multiplyExact(count, slotBytes), segment.byteSize());
    }
}
