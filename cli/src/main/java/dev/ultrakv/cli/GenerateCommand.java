package dev.ultrakv.cli;

import dev.ultrakv.model.Generation;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.StopReason;
import dev.ultrakv.model.TextGenerator;
import dev.ultrakv.sampling.Sampler;
import dev.ultrakv.tokenizer.Tokenizer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.util.Locale;
import java.util.concurrent.Callable;

/**
 * {@code ultrakv generate}: prints the decoded prompt followed by the continuation and a newline on stdout,
 * byte for byte as llama2.c's run.c prints it; timings go to stderr.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate text from a prompt (stdout: prompt + continuation; stderr: timings).")
final class GenerateCommand implements Callable<Integer> {
    @Mixin
    ModelOptions modelOptions;

    @Option(names = {"--prompt", "-i"}, defaultValue = "", description = "The prompt (default: empty).")
    String prompt;

    @Option(names = {"--max-tokens", "-n"}, defaultValue = "256",
            description = "Most new tokens to generate (default: ${DEFAULT-VALUE}).")
    int maxTokens;

    @Option(names = {"--temperature", "-t"}, defaultValue = "1.0",
            description = "0 for greedy decoding (default: ${DEFAULT-VALUE}).")
    float temperature;

    @Option(names = {"--top-p", "-p"}, defaultValue = "0.9",
            description = "Nucleus sampling threshold in [0, 1]; 0 or 1 = off (default: ${DEFAULT-VALUE}).")
    float topP;

    @Option(names = "--top-k", defaultValue = "0", description = "Keep the k most likely tokens; 0 = off.")
    int topK;

    @Option(names = {"--seed", "-s"}, description = "Random seed (default: the current time).")
    Long seed;

    @Override
    public Integer call() {
        if (maxTokens < 0) {
            throw new IllegalArgumentException("--max-tokens must be >= 0, got " + maxTokens);
        }
        Sampler.validate(temperature, topP, topK);
        long effectiveSeed = seed != null ? seed : System.currentTimeMillis() / 1000;
        PrintStream err = System.err;
        try (LlamaModel model = modelOptions.load()) {
            Tokenizer tokenizer = model.tokenizer();
            int[] promptTokens = tokenizer.encode(prompt, true);
            TextGenerator generator = new TextGenerator(model);
            generator.checkRequest(promptTokens, maxTokens);  // fail before the prompt is printed
            OutputStream out = System.out;
            for (int i = 1; i < promptTokens.length; i++) {
                write(out, tokenizer.decode(promptTokens[i - 1], promptTokens[i]));
            }
            flush(out);
            Sampler sampler = new Sampler(model.config().vocabularySize(), temperature, topP, topK, effectiveSeed);
            Generation g;
            try {
                g = generator.generate(promptTokens, maxTokens, sampler,
                        (previous, token) -> {
                            write(out, tokenizer.decode(previous, token));
                            flush(out);
                        });
            } finally {
                // The text so far ends its line, so that an error follows on a line of its own.
                write(out, new byte[] {'\n'});
                flush(out);
            }
            flush(out);
            if (g.stopReason() == StopReason.CONTEXT_FULL) {
                err.printf("ultrakv: stopped after %d new tokens: the model's context length of %d tokens is"
                        + " full%n", g.generatedTokens().length, model.config().contextLength());
            }
            err.println(timings(g));
        }
        return 0;
    }

    static String timings(Generation g) {
        int prompt = g.promptTokens().length;
        int generated = g.generatedTokens().length;
        // The first generated token comes from the prefill's logits; decode steps produce the rest.
        int decodeSteps = Math.max(0, generated - 1);
        return String.format(Locale.ROOT,
                "prompt: %d tokens in %.1f ms (%.1f tokens/s); generation: %d tokens, %d decode steps in %.1f ms"
                        + " (%.1f tokens/s)",
                prompt, g.prefillNanos() / 1e6, rate(prompt, g.prefillNanos()), generated, decodeSteps,
                g.decodeNanos() / 1e6, rate(decodeSteps, g.decodeNanos()));
    }

    private static double rate(int tokens, long nanos) {
        return nanos == 0 ? 0 : tokens / (nanos / 1e9);
    }

    private static void write(OutputStream out, byte[] bytes) {
        try {
            out.write(bytes);
        } catch (IOException e) {
            throw new UncheckedIOException("writing to stdout failed", e);
        }
    }

    private static void flush(OutputStream out) {
        try {
            out.flush();
        } catch (IOException e) {
            throw new UncheckedIOException("writing to stdout failed", e);
        }
    }
}
