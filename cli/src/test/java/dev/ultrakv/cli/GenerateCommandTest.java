package dev.ultrakv.cli;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
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

    /** llama.cpp's --prompt-cache, across runs: a second run on the same --kv-disk reuses the first's prompt. */
    @Test
    void aSecondRunOnTheSameKvDiskTakesThePromptFromIt(@TempDir Path directory) {
        String prompt = "Once upon a time, there was a little girl named Lily. She loved to play outside in the park"
                + " with her friends and her big red ball.";
        String[] args = {"generate", "--prompt", prompt, "-n", "12", "-t", "0", "--kv-disk",
                directory.resolve("kv").toString(), "--kv-disk-bytes", "16777216"};
        CliRun first = CliRun.of(args);
        CliRun second = CliRun.of(args);
        assertEquals(0, first.exitCode(), first.err());
        assertEquals(0, second.exitCode(), second.err());
        assertFalse(first.err().contains("from the KV cache"), first.err());
        assertTrue(second.err().matches("(?s).*prompt: \\d+ tokens \\(\\d+ from the KV cache\\).*"), second.err());
        assertEquals(first.out(), second.out(), "the same text from the cached prompt");
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
