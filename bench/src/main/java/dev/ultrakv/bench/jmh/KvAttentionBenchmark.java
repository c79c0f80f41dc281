package dev.ultrakv.bench.jmh;

import dev.ultrakv.kvcache.codec.ChannelKeyCodec;
import dev.ultrakv.kvcache.codec.KvCodec;
import dev.ultrakv.kvcache.codec.KvCodecKind;
import dev.ultrakv.kvcache.codec.KvCodecs;
import dev.ultrakv.tensor.Attention;
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

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * One query head's attention over encoded KV blocks, per codec: the scores of every block of {@value #BLOCK}
 * slots, one softmax, then every block's weighted values, as {@code PagedKvStore.attend} composes them.
 *
 * <ul>
 *   <li>{@code attend}: the whole of it;
 *   <li>{@code scores} and {@code values}: each half alone, to see which one a codec's time goes to.
 * </ul>
 * The blocks lie in one off-heap segment laid out like the block pool's: each block holds the key runs then the
 * value runs of {@value #KV_HEADS} KV heads (one layer), each run padded to 64 bytes, and the sequence's blocks
 * are taken in a shuffled order, so reads jump between blocks as in a busy pool. Keys and values are Gaussian,
 * encoded in {@code @Setup} as a cache of the codec stores them: INT4 and INT2 keys per channel over each block
 * ({@code KvCodecs.channelKeys}), their values zero-centred ({@code KvCodecs.values}).
 *
 * <p>The acceptance point: over INT8 blocks, which hold about a quarter of the bytes of F32 ones, attention must
 * be at least as fast as over F32 for long contexts. Run after {@code ./mvnw -B -DskipTests package}:
 * <pre>
 * java --add-modules jdk.incubator.vector -jar bench/target/ultrakv-benchmarks.jar 'KvAttentionBenchmark.attend' \
 *      -f 1 -wi 5 -i 3 -w 1s -r 1s
 * </pre>
 * Five warm-up seconds, not two: until C2 has compiled a kernel, its Vector API code runs in the interpreter or
 * C1 some thousand times slower, and on the shared 2-core machine C2 was seen to need up to 4 s for the integer
 * kernels (whole iterations at hundreds of milliseconds per call).
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 3, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED"})
public class KvAttentionBenchmark {
    /** Slots per block, the pool's default. */
    static final int BLOCK = 16;
    /** KV heads per block, as TinyLlama: the attended head's runs are an eighth of each block's keys. */
    static final int KV_HEADS = 8;
    /** The KV head attended to. */
    static final int HEAD = 5;
    /** Alignment of each run, as the pool aligns its regions to a cache line. */
    static final int ALIGNMENT = 64;

    @Param({"F32", "F16", "INT8", "INT4", "INT2"})
    KvCodecKind codec;
    @Param({"512", "2048", "8192"})
    int positions;
    @Param({"64"})
    int headSize;

    /** The values' slot codec, and the keys' when {@link #channelKeys} is null. */
    private KvCodec kv;
    /** The keys' run codec of INT4 and INT2 caches; null for the others. */
    private ChannelKeyCodec channelKeys;
    private Arena arena;
    private MemorySegment memory;
    /** Byte offset of the attended head's key run in each block of the sequence, in position order. */
    private long[] keyRuns;
    /** The same for the value runs. */
    private long[] valueRuns;
    private float[] query;
    private float[] scores;
    private float[] out;

    @Setup(Level.Trial)
    public void setUp() {
        kv = KvCodecs.values(codec);
        channelKeys = KvCodecs.channelKeys(codec);
        long valueRunBytes = align(kv.slotBytes(headSize) * BLOCK);
        long keyRunBytes = channelKeys == null ? valueRunBytes : align(channelKeys.runBytes(headSize, BLOCK));
        long blockBytes = KV_HEADS * (keyRunBytes + valueRunBytes);
        int blocks = (positions + BLOCK - 1) / BLOCK;
        arena = Arena.ofConfined();
        memory = arena.allocate(blocks * blockBytes, ALIGNMENT);
        SplittableRandom random = new SplittableRandom(42);
        int[] order = new int[blocks];
        for (int i = 0; i < blocks; i++) {
            order[i] = i;
        }
        for (int i = blocks - 1; i > 0; i--) {
            int j = random.nextInt(i + 1);
            int t = order[i];
            order[i] = order[j];
            order[j] = t;
        }
        keyRuns = new long[blocks];
        valueRuns = new long[blocks];
        float[] slot = new float[headSize];
        float[] run = new float[BLOCK * headSize];
        for (int b = 0; b < blocks; b++) {
            long block = order[b] * blockBytes;
            long values = block + KV_HEADS * keyRunBytes;
            keyRuns[b] = block + HEAD * keyRunBytes;
            valueRuns[b] = values + HEAD * valueRunBytes;
            for (int h = 0; h < KV_HEADS; h++) {
                long keys = block + h * keyRunBytes;
                if (channelKeys != null) {
                    gaussian(random, run);
                    channelKeys.encode(run, 0, headSize, headSize, BLOCK, memory, keys);
                }
                for (int t = 0; t < BLOCK; t++) {
                    if (channelKeys == null) {
                        gaussian(random, slot);
                        kv.encode(slot, 0, headSize, memory, keys + t * kv.slotBytes(headSize));
                    }
                    gaussian(random, slot);
                    kv.encode(slot, 0, headSize, memory, values + h * valueRunBytes + t * kv.slotBytes(headSize));
                }
            }
        }
        query = new float[headSize];
        gaussian(random, query);
        scores = new float[positions];
        out = new float[headSize];
        // Softmaxed scores as the weights of the values benchmark.
        computeScores();
        Attention.softmax(scores, 0, positions);
    }

    private static long align(long bytes) {
        return (bytes + ALIGNMENT - 1) / ALIGNMENT * ALIGNMENT;
    }

    private static void gaussian(SplittableRandom random, float[] a) {
        for (int i = 0; i < a.length; i++) {
            a[i] = (float) random.nextGaussian();
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public float[] attend() {
        computeScores();
        Attention.softmax(scores, 0, positions);
        Arrays.fill(out, 0f);
        addValues();
        return out;
    }

    @Benchmark
    public float[] scores() {
        computeScores();
        return scores;
    }

    @Benchmark
    public float[] values() {
        Arrays.fill(out, 0f);
        addValues();
        return out;
    }

    private void computeScores() {
        for (int b = 0, start = 0; start < positions; b++, start += BLOCK) {
            int count = Math.min(BLOCK, positions - start);
            if (channelKeys == null) {
                kv.attentionScores(query, 0, headSize, memory, keyRuns[b], count, scores, start);
            } else {
                channelKeys.attentionScores(query, 0, headSize, memory, keyRuns[b], BLOCK, count, scores, start);
            }
        }
    }

    /** Weighted values with the scores as weights (softmaxed or not, the work is the same). */
    private void addValues() {
        for (int b = 0, start = 0; start < positions; b++, start += BLOCK) {
            kv.attentionValues(scores, start, memory, valueRuns[b], Math.min(BLOCK, positions - start), headSize,
                    out, 0);
        }
    }
}
