package dev.ultrakv.kvcache.codec;

/**
 * A per-thread float buffer for the per-run working values of the attention kernels (a float16 run converted to
 * floats, or each slot's weight times scale), kept between calls so that attention allocates nothing.
 *
 * <h2>Notes</h2>
 * One buffer per thread: attention runs concurrently for different heads on different threads (the KvStore
 * contract), and a kernel never calls another kernel while it holds the buffer.
 */
final class RunScratch {
    private static final ThreadLocal<float[][]> BUFFER = ThreadLocal.withInitial(() -> new float[1][0]);

    private RunScratch() {
    }

    /** This thread's buffer, at least {@code size} floats long; its contents are left over from earlier calls. */
    static float[] floats(int size) {
        float[][] box = BUFFER.get();
        if (box[0].length < size) {
            box[0] = new float[size];
        }
        return box[0];
    }
}
