package dev.ultrakv.bench.jmh;

import dev.ultrakv.kvcache.index.PrefixIndex;
import dev.ultrakv.kvcache.index.PrefixMatch;
import dev.ultrakv.kvcache.policy.EvictionPolicies;
import dev.ultrakv.kvcache.policy.PolicyKind;
import dev.ultrakv.sim.BlockCounter;
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
import org.openjdk.jmh.annotations.Warmup;

import java.util.Arrays;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;

/**
 * The prefix index's hot operations in an index populated with {@value #PROMPTS} prompts of
 * {@value #PROMPT_TOKENS} tokens (16-token blocks) that share system prompts of 256 tokens:
 * <ul>
 *   <li>{@code match}: the longest cached prefix of a cached 1024-token prompt (64 block comparisons);</li>
 *   <li>{@code insertAndEvict}: a request's life after the model ran: match and pin a prompt that shares a system
 *       prompt, allocate its 48 new blocks (evicting 48 leaves), insert, unpin;</li>
 *   <li>{@code evictOne}: one eviction and its block's return (and re-insertion of a one-block prompt, so that the
 *       cache stays full).</li>
 * </ul>
 * Run: {@code ./mvnw -pl bench -am package -DskipTests && java -jar bench/target/ultrakv-benchmarks.jar
 * PrefixIndexBenchmark}.
 */
@State(Scope.Thread)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class PrefixIndexBenchmark {
    static final int BLOCK = 16;
    static final int PROMPTS = 256;
    static final int PROMPT_TOKENS = 1024;
    static final int SYSTEM_TOKENS = 256;
    static final int SYSTEM_PROMPTS = 8;
    static final String MODEL = "bench";

    @Param({"LRU", "LFU", "ADAPTIVE"})
    public PolicyKind policy;

    private PrefixIndex index;
    private BlockCounter pool;
    private int[][] prompts;
    private int[] cachedPrompt;
    private SplittableRandom random;
    private int next;

    @Setup(Level.Trial)
    public void populate() {
        random = new SplittableRandom(1);
        int[][] systems = new int[SYSTEM_PROMPTS][];
        for (int s = 0; s < SYSTEM_PROMPTS; s++) {
            systems[s] = random.ints(SYSTEM_TOKENS, 3, 32_000).toArray();
        }
        prompts = new int[PROMPTS * 4][];
        for (int p = 0; p < prompts.length; p++) {
            prompts[p] = Arrays.copyOf(systems[p % SYSTEM_PROMPTS], PROMPT_TOKENS);
            for (int i = SYSTEM_TOKENS; i < PROMPT_TOKENS; i++) {
                prompts[p][i] = random.nextInt(3, 32_000);
            }
        }
        int capacity = PROMPTS * (PROMPT_TOKENS - SYSTEM_TOKENS) / BLOCK + SYSTEM_PROMPTS * SYSTEM_TOKENS / BLOCK;
        pool = new BlockCounter(capacity);
        index = new PrefixIndex(BLOCK, EvictionPolicies.create(policy, capacity, BLOCK), pool::free);
        for (int p = 0; p < PROMPTS; p++) {
            serve(prompts[p]);
        }
        cachedPrompt = prompts[PROMPTS - 1];
        next = PROMPTS;
    }

    private void serve(int[] tokens) {
        PrefixMatch match = index.match(MODEL, tokens);
        index.pin(match);
        int blocks = Math.ceilDiv(tokens.length, BLOCK);
        int missing = blocks - match.fullBlockCount();
        if (pool.freeBlocks() < missing) {
            index.evict(missing - pool.freeBlocks());
        }
        int[] table = Arrays.copyOf(match.fullBlocks(), blocks);
        for (int i = match.fullBlockCount(); i < blocks; i++) {
            table[i] = pool.allocate();
        }
        index.insert(match, tokens, tokens.length, table);
        index.unpin(match);
    }

    @Benchmark
    public PrefixMatch match() {
        return index.match(MODEL, cachedPrompt);
    }

    @Benchmark
    public int insertAndEvict() {
        serve(prompts[next++ % prompts.length]);
        return index.cachedBlocks();
    }

    @Benchmark
    public int evictOne() {
        int freed = index.evict(1);
        serve(new int[] {random.nextInt(3, 32_000), random.nextInt(3, 32_000)});
        return freed;
    }
}
