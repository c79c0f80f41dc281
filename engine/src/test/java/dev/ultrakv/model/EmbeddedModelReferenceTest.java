package dev.ultrakv.model;

import dev.ultrakv.sampling.Sampler;
import dev.ultrakv.tokenizer.Tokenizer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

/** The engine against llama2.c: the published reference output and a line-for-line port of run.c. */
class EmbeddedModelReferenceTest {
    /** Published with stories260K: greedy decoding, empty prompt, 256 steps (see models/README). */
    private static final String PUBLISHED_REFERENCE = """
            Once upon a time, there was a little girl named Lily. She loved to play outside in the park. \
            One day, she saw a big, red ball. She wanted to play with it, but it was too high.
            Lily's mom said, "Lily, let's go to the park." Lily was sad and didn't know what to do. \
            She said, "I want to play with your ball, but I can't find it."
            Lily was sad and didn't know what to do. She said, "I'm sorry, Lily. I didn't know what to do."
            Lily didn't want to help her mom, so she said, "I'm sorry, mom. I didn't know what to do." \
            Her mom said, "Don't worry, Lily. We can help you.
            """;

    private static LlamaModel model;
    private static ReferenceLlama reference;

    @BeforeAll
    static void load() throws Exception {
        model = ModelLoader.loadEmbedded();
        reference = new ReferenceLlama(Path.of("../models/stories260K.bin"));
    }

    @AfterAll
    static void close() {
        model.close();
    }

    /** What the CLI prints: the decoded prompt, the continuation, a newline. */
    private static String render(Tokenizer tokenizer, int[] prompt, int[] generated) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        for (int i = 1; i < prompt.length; i++) {
            out.writeBytes(tokenizer.decode(prompt[i - 1], prompt[i]));
        }
        int previous = prompt[prompt.length - 1];
        for (int token : generated) {
            out.writeBytes(tokenizer.decode(previous, token));
            previous = token;
        }
        out.write('\n');
        return out.toString(StandardCharsets.UTF_8);
    }

    private static Generation greedy(String prompt, int maxNewTokens) {
        int[] tokens = model.tokenizer().encode(prompt, true);
        return new TextGenerator(model).generate(tokens, maxNewTokens,
                Sampler.greedy(model.config().vocabularySize()), null);
    }

    @Test
    void greedyEmptyPromptReproducesThePublishedReferenceByteForByte() {
        Generation g = greedy("", 256);
        assertEquals(PUBLISHED_REFERENCE, render(model.tokenizer(), g.promptTokens(), g.generatedTokens()));
    }

    @ParameterizedTest
    @ValueSource(strings = {
        "Once upon a time",
        "The little dog ran to the park and",
        "Tom and Lily were best friends. One day, they found a box.",
        "Café au lait ☕ and naïve résumé — 日本語",
        "\"Can I play?\" asked Ben.\nHis mom said",
    })
    void greedyGenerationAgreesWithTheReferenceProgram(String prompt) {
        int[] tokens = model.tokenizer().encode(prompt, true);
        int steps = 200;
        Generation g = greedy(prompt, steps - tokens.length + 1);
        assertArrayEquals(reference.generateGreedy(tokens, steps), g.generatedTokens(), prompt);
    }

    @Test
    void longPromptIsPrefilledInChunksAndGenerationStopsAtTheContextLength() {
        String prompt = "Once upon a time, there was a little girl named Lily. ".repeat(25);
        int[] tokens = model.tokenizer().encode(prompt, true);
        int context = model.config().contextLength();
        Generation g = greedy(prompt, 10_000);
        int[] expected = reference.generateGreedy(tokens, context);
        assertArrayEquals(expected, g.generatedTokens());
        if (expected.length == context - tokens.length + 1) {
            assertEquals(StopReason.CONTEXT_FULL, g.stopReason());
        }
    }
}
