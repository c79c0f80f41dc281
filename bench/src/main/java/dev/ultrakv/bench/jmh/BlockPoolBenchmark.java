package dev.ultrakv.bench.jmh;

import dev.ultrakv.kvcache.BlockPool;
import dev.ultrakv.kvcache.DenseKvStore;
import dev.ultrakv.kvcache.KvLayout;
import dev.ultrakv.kvcache.PagedKvStore;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The block pool's bookkeeping and the cost of paging for attention.
 *
 * <ul>
 *   <li>{@code allocateAndRelease}: one block out of the free queue and back (the per-block cost of a request);
 *   <li>{@code allocateChainReleaseTailFirst}: a whole request's {@value #CHAIN} blocks, freed tail first;
 *   <li>{@code attendPaged} vs {@code attendDense}: one query head's attention over {@code positions} positions,
 *       from blocks scattered over the pool vs one dense array. The difference is what paging costs.
 * </ul>
 * The layout is one layer of a TinyLlama-like model (8 KV heads, GQA). Keys and values are random, written in
 * {@code @Setup}.
 *
 * <p>Run after {@code ./mvnw -pl bench -am package}:
 * <pre>
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED \
 *      -jar bench/target/ultrakv-benchmarks.jar BlockPoolBenchmark
 * </pre>
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class BlockPoolBenchmark {
    /** Blocks of one request in the chain benchmark: 1024 positions at 16 per block. */
    static final int CHAIN = 64;
    /** Query heads per KV head, as TinyLlama's 32 on 8. */
    static final int QUERIES_PER_KV_HEAD = 4;
    /** KV heads, as TinyLlama. */
    static final int KV_HEADS = 8;
    /** Layers stored per block; attention reads one, so a few are enough to spread blocks as a model would. */
    static final int LAYERS = 4;

    @Param({"16"})
    int blockSize;
    @Param({"1024"})
    int positions;
    @Param({"64", "128"})
    int headSize;

    private BlockPool pool;
    private PagedKvStore paged;
    private DenseKvStore dense;
    private int[] chain;
    private float[] query;
    private float[] out;
    private float[] scratch;

    @Setup(Level.Trial)
    public void setUp() {
        KvLayout layout = new KvLayout(LAYERS, KV_HEADS * QUERIES_PER_KV_HEAD, KV_HEADS, headSize);
        int blocks = (positions + blockSize - 1) / blockSize;
        // Twice the blocks needed, taken in a shuffled order, so the store's blocks are scattered like a busy pool's.
        pool = BlockPool.forTokens(layout, blockSize, 2L * blocks * blockSize + (long) CHAIN * blockSize);
        SplittableRandom random = new SplittableRandom(42);
        int[] ids = new int[2 * blocks];
        pool.allocate(ids.length, ids, 0);
        for (int i = ids.length - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = ids[i];
            ids[i] = ids[j];
            ids[j] = t;
        }
        paged = new PagedKvStore(pool, blocks);
        for (int i = 0; i < ids.length; i++) {
            if (i < blocks) {
                paged.appendBlock(ids[i]);
            } else {
                pool.release(ids[i]);
            }
        }
        dense = new DenseKvStore(layout, positions);
        float[] key = new float[layout.kvDim()];
        float[] value = new float[layout.kvDim()];
        for (int layer = 0; layer < LAYERS; layer++) {
            for (int p = 0; p < positions; p++) {
                fill(random, key);
                fill(random, value);
                paged.write(layer, p, key, 0, value, 0);
                dense.write(layer, p, key, 0, value, 0);
            }
        }
        query = new float[headSize];
        fill(random, query);
        out = new float[headSize];
        scratch = new float[positions];
        chain = new int[CHAIN];
    }

    private static void fill(SplittableRandom random, float[] a) {
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) (random.nextDouble() * 2 - 1);
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        pool.close();
    }

    @Benchmark
    public int allocateAndRelease() {
        int id = pool.allocate();
        pool.release(id);
        return id;
    }

    @Benchmark
    public int allocateChainReleaseTailFirst() {
        pool.allocate(CHAIN, chain, 0);
        pool.releaseTailFirst(chain, 0, CHAIN);
        return chain[CHAIN - 1];
    }

    @Benchmark
    public float[] attendPaged() {
        paged.attend(1, 5, positions - 1, query, 0, out, 0, scratch);
        return out;
    }

    @Benchmark
    public float[] attendDense() {
        dense.attend(1, 5, positions - 1, query, 0, out, 0, scratch);
        return out;
    }
}
