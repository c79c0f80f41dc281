package dev.ultrakv.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Chat templates rendered by Jinjava against Python jinja2's renders (test resources {@code chat-templates/}, from
 * llama.cpp's test set, MIT: see its LICENSE-llama.cpp and README.md).
 */
class ChatPromptTest {
    /** The date jinja2's renders were made at (their {@code strftime_now}). */
    private static final Clock RENDER_DATE = Clock.fixed(Instant.parse("2024-07-26T12:00:00Z"), ZoneOffset.UTC);
    /**
     * Templates rendered byte for byte as jinja2 renders them (refusals included), in every conversation. The
     * others (the tool-use templates of Command R+, Hermes 2 Pro and Hermes 3) render differently today and are
     * reported as skipped until the renderer matches them.
     */
    static final Set<String> RENDERED_ALIKE = Set.of("CohereForAI-c4ai-command-r7b-12-2024-tool_use.jinja",
            "Qwen-Qwen2.5-7B-Instruct.jinja", "deepseek-ai-DeepSeek-R1-Distill-Llama-8B.jinja",
            "deepseek-ai-DeepSeek-R1-Distill-Qwen-32B.jinja", "fireworks-ai-llama-3-firefunction-v2.jinja",
            "google-gemma-2-2b-it.jinja", "llama-cpp-deepseek-r1.jinja", "meetkai-functionary-medium-v3.1.jinja",
            "meetkai-functionary-medium-v3.2.jinja", "meta-llama-Llama-3.1-8B-Instruct.jinja",
            "meta-llama-Llama-3.2-3B-Instruct.jinja", "meta-llama-Llama-3.3-70B-Instruct.jinja",
            "microsoft-Phi-3.5-mini-instruct.jinja", "mistralai-Mistral-Nemo-Instruct-2407.jinja");

    private static String resource(String name) {
        try (InputStream in = ChatPromptTest.class.getResourceAsStream("/chat-templates/" + name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static Stream<Arguments> renders() throws IOException {
        JsonNode index = TestServers.json(resource("expected/index.json"));
        List<Arguments> cases = new ArrayList<>();
        for (JsonNode render : index.get("renders")) {
            cases.add(Arguments.of(render.get("template").asText(), render.get("conversation").asText(), render));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("renders")
    void rendersAsJinja2(String template, String conversation, JsonNode render) throws IOException {
        Assumptions.assumeTrue(RENDERED_ALIKE.contains(template), "Jinjava renders " + template + " differently");
        JsonNode index = TestServers.json(resource("expected/index.json"));
        JsonNode chat = index.at("/conversations/" + conversation);
        List<ChatPrompt.Message> messages = new ArrayList<>();
        for (JsonNode m : chat.get("messages")) {
            messages.add(new ChatPrompt.Message(m.get("role").asText(), m.get("content").asText()));
        }
        ChatPrompt prompt = new ChatPrompt(resource(template), render.get("bos_token").asText(),
                render.get("eos_token").asText(), RENDER_DATE);
        String expected = resource("expected/" + render.get("expected").asText());
        boolean addGenerationPrompt = chat.get("add_generation_prompt").asBoolean();
        String actual;
        try {
            actual = prompt.render(messages, addGenerationPrompt);
        } catch (ApiError e) {
            actual = "error: " + e.getMessage();
        }
        if (expected.startsWith("error:")) {
            assertTrue(actual.startsWith("error:"), "the template refuses this chat as jinja2 does: " + actual);
        } else {
            assertEquals(expected, actual);
        }
    }

    @Test
    void plainFormatWritesRolesThenOpensTheAssistant() {
        ChatPrompt plain = new ChatPrompt(null, "", "");
        assertEquals("system: Be brief.\nuser: Hi\nassistant:", plain.render(List.of(
                new ChatPrompt.Message("system", "Be brief."), new ChatPrompt.Message("user", "Hi")), true));
    }

    @Test
    void templateRefusalIsA400NamingMessages() {
        ChatPrompt strict = new ChatPrompt("{{ raise_exception('no system role') }}", "", "");
        ApiError e = assertThrows(ApiError.class, () -> strict.render(List.of(new ChatPrompt.Message("user", "Hi")),
                true));
        assertEquals("messages", e.param());
        assertEquals(400, e.status());
    }
}
