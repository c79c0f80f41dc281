package dev.ultrakv.kvcache;

import java.lang.management.ManagementFactory;

/**
 * What memory a KV cache may ask for, checked before anything is allocated, so that a configuration too large
 * for the machine fails at once with the field named instead of with an {@link OutOfMemoryError} (or the
 * kernel's OOM killer) seconds later.
 *
 * <p>The blocks live off-heap, so their bound is the machine's physical memory (the container's limit where
 * there is one) less the Java heap's maximum; their bookkeeping lives on the heap (free queue, reference counts,
 * an index node with its tokens and policy entries per cached block), bounded by half the heap.
 */
public final class KvMemoryLimits {
    /** Heap bytes a block's bookkeeping takes beside its tokens, rounded up: pool arrays, index node, policy. */
    static final long HEAP_BYTES_PER_BLOCK = 256;

    private KvMemoryLimits() {
    }

    /** Bytes of memory the machine can give off-heap: physical (or the container's) less the heap's maximum. */
    public static long offHeapBytes() {
        long physical = physicalMemoryBytes();
        return Math.max(0, physical - Runtime.getRuntime().maxMemory());
    }

    private static long physicalMemoryBytes() {
        if (ManagementFactory.getOperatingSystemMXBean() instanceof com.sun.management.OperatingSystemMXBean os) {
            return os.getTotalMemorySize();
        }
        return Long.MAX_VALUE;
    }

    /**
     * Checks that {@code blocks} blocks laid out as {@code layout} fit in the memory the machine can give.
     *
     * @param field what asked for them, named in the error ({@code maxTokens 2147483647})
     * @throws IllegalArgumentException naming {@code field}, the bytes needed and the bytes available
     */
    public static void check(KvBlockLayout layout, long blocks, String field) {
        if (blocks > BlockPool.MAX_BLOCKS) {
            throw new IllegalArgumentException(field + " asks for " + blocks + " KV blocks; a pool holds at most "
                    + BlockPool.MAX_BLOCKS);
        }
        long blockBytes = layout.blockBytes();
        long offHeap = offHeapBytes();
        if (blocks > offHeap / blockBytes) {
            throw new IllegalArgumentException(field + " needs a KV cache of " + blocks + " blocks of " + blockBytes
                    + " bytes (" + gib(blocks * (double) blockBytes) + " GiB), more than the " + gib(offHeap)
                    + " GiB this machine can give besides the Java heap; lower it");
        }
        long heapPerBlock = HEAP_BYTES_PER_BLOCK + (long) Integer.BYTES * layout.blockSize();
        long heap = Runtime.getRuntime().maxMemory() / 2;
        if (blocks > heap / heapPerBlock) {
            throw new IllegalArgumentException(field + " needs " + blocks + " KV blocks whose bookkeeping takes "
                    + gib(blocks * (double) heapPerBlock) + " GiB of Java heap, more than half of the "
                    + gib(Runtime.getRuntime().maxMemory()) + " GiB heap; lower it or raise -Xmx");
        }
    }

    private static String gib(double bytes) {
        return String.format(java.util.Locale.ROOT, "%.2f", bytes / (1L << 30));
    }
}
