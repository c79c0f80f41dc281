package dev.ultrakv.cli;

import dev.ultrakv.tensor.Parallel;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code --threads} on the commands that run a model: checked before anything loads, named in the error. */
class ThreadsOptionTest {

    @Test
    void outOfRangeCountsAreRefusedByName() {
        for (String[] args : new String[][]{{"generate", "--threads", "2000"}, {"serve", "--threads", "0"},
                {"bench", "speed", "--threads", "-3"}}) {
            CliRun run = CliRun.of(args);
            assertEquals(1, run.exitCode(), String.join(" ", args));
            assertTrue(run.err().strip().matches("ultrakv: --threads must be in \\[1, 1024], got -?\\d+"), run.err());
        }
    }

    @Test
    void theCountOfARunningPoolCannotChange() {
        int running = Parallel.threads();
        CliRun run = CliRun.of("generate", "--threads", Integer.toString(running + 1), "--max-tokens", "1");
        assertEquals(1, run.exitCode());
        assertTrue(run.err().contains("--threads: the kernel threads already run with " + running), run.err());
        CliRun same = CliRun.of("generate", "--threads", Integer.toString(running), "--max-tokens", "1",
                "--temperature", "0");
        assertEquals(0, same.exitCode(), same.err());
    }
}
