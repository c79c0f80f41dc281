package dev.ultrakv.cli;

import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GenerateCommandTest {

    @Test
    void greedyGenerationPrintsPromptAndContinuationOnStdoutAndTimingsOnStderr() {
        CliRun run = CliRun.of("generate", "--prompt", "Once upon a time", "--max-tokens", "20",
                "--temperature", "0");
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.out().startsWith("Once upon a time, there was a little girl named Lily."), run.out());
        assertTrue(run.out().endsWith("\n"));
        assertEquals(1, run.out().chars().filter(c -> c == '\n').count(), "one final newline: " + run.out());
        assertTrue(run.err().contains("tokens/s"), run.err());
    }

    @Test
    void theSameSeedGivesTheSameSampledText() {
        String[] args = {"generate", "--prompt", "The cat", "-n", "30", "--temperature", "0.9", "--seed", "7"};
        CliRun first = CliRun.of(args);
        CliRun second = CliRun.of(args);
        assertEquals(0, first.exitCode(), first.err());
        assertEquals(first.out(), second.out());
        CliRun other = CliRun.of("generate", "--prompt", "The cat", "-n", "30", "--temperature", "0.9",
                "--seed", "8");
        assertTrue(!other.out().equals(first.out()) || other.out().length() < 20,
                "different seeds should (almost always) differ");
    }

    @Test
    void generationThatReachesTheContextLengthStopsWithAMessage() {
        CliRun run = CliRun.of("generate", "--prompt", "Once upon a time", "-n", "1000", "-t", "0",
                "--context-length", "40");
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.err().contains("context length of 40 tokens is full"), run.err());
        assertTrue(run.out().endsWith("\n"));
    }
}
