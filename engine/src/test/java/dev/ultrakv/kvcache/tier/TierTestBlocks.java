package dev.ultrakv.kvcache.tier;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Seeded blocks and records for the tier tests, waiting for what a tier does on its own thread, and peer JVMs.
 */
final class TierTestBlocks {
    static final int BLOCK_TOKENS = 4;

    private TierTestBlocks() {
    }

    /** The keys of {@code count} consecutive blocks of a prompt that only {@code namespace} and {@code seed} fix. */
    static List<BlockKey> keys(String namespace, long seed, int count) {
        int[] tokens = new Random(seed).ints(count * BLOCK_TOKENS, 0, 32_000).toArray();
        return Arrays.asList(BlockKey.chain(namespace, tokens, tokens.length, BLOCK_TOKENS));
    }

    /** A record of {@code key} whose payload is {@code payloadBytes} bytes drawn from the key itself. */
    static byte[] record(String namespace, BlockKey key, int payloadBytes) {
        byte[] payload = new byte[payloadBytes];
        new Random(key.hashCode()).nextBytes(payload);
        return BlockRecord.encode(key, namespace, payload);
    }

    /** The records of {@code keys}, in order. */
    static List<byte[]> records(String namespace, List<BlockKey> keys, int payloadBytes) {
        List<byte[]> records = new ArrayList<>();
        for (BlockKey key : keys) {
            records.add(record(namespace, key, payloadBytes));
        }
        return records;
    }

    /** Waits until {@code condition} holds, failing with {@code what} after {@code limit}. */
    static void await(String what, Duration limit, BooleanSupplier condition) {
        long deadline = System.nanoTime() + limit.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("timed out after " + limit + " waiting until " + what);
            }
            try {
                Thread.sleep(10);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new AssertionError("interrupted waiting until " + what, e);
            }
        }
    }

    /** Waits until {@code tier} has stored at least {@code blocks} blocks. */
    static void awaitWritten(KvTier tier, long blocks) {
        await(tier.name() + " has written " + blocks + " blocks (" + tier.stats() + ")", Duration.ofSeconds(5),
                () -> tier.stats().blocksWritten() >= blocks);
    }

    /**
     * Runs {@code main} in a JVM of its own on the test classpath and returns what it printed (stdout and stderr);
     * fails unless it exits 0 within {@code limit}.
     */
    static String runJvm(Duration limit, Class<?> main, String... args) throws Exception {
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java")
                .toString(), "--add-modules", "jdk.incubator.vector", "-cp", System.getProperty("java.class.path"),
                main.getName()));
        command.addAll(List.of(args));
        Process child = new ProcessBuilder(command).redirectErrorStream(true).start();
        boolean exited = child.waitFor(limit.toMillis(), TimeUnit.MILLISECONDS);
        String output = new String(child.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!exited) {
            child.destroyForcibly();
        }
        assertTrue(exited, main.getSimpleName() + " finished; its output:\n" + output);
        assertEquals(0, child.exitValue(), main.getSimpleName() + "'s output:\n" + output);
        return output;
    }
}
