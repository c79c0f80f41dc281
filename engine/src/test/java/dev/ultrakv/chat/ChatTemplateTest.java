package dev.ultrakv.chat;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.ModelLoader;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Chat templates of real models rendered against Python jinja2's renders (test resources {@code chat-templates/},
 * from llama.cpp's test set, MIT: see its LICENSE-llama.cpp and README.md), every case of its index.
 */
class ChatTemplateTest {
    /** The date jinja2's renders were made at (their {@code strftime_now}). */
    static final Clock RENDER_DATE = Clock.fixed(Instant.parse("2024-07-26T12:00:00Z"), ZoneOffset.UTC);

    static String resource(String name) {
        try (InputStream in = ChatTemplateTest.class.getResourceAsStream("/chat-templates/" + name)) {
            if (in == null) {
                throw new IllegalStateException("no test resource chat-templates/" + name);
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static JsonNode index() throws IOException {
        return new ObjectMapper().readTree(resource("expected/index.json"));
    }

    /** The messages of one of the index's conversations. */
    static List<ChatMessage> messages(JsonNode conversation) {
        List<ChatMessage> messages = new ArrayList<>();
        for (JsonNode m : conversation.get("messages")) {
            messages.add(new ChatMessage(m.get("role").asText(), m.get("content").asText()));
        }
        return messages;
    }

    static Stream<Arguments> renders() throws IOException {
        List<Arguments> cases = new ArrayList<>();
        for (JsonNode render : index().get("renders")) {
            cases.add(Arguments.of(render.get("template").asText(), render.get("conversation").asText(), render));
        }
        return cases.stream();
    }

    @ParameterizedTest(name = "{0} {1}")
    @MethodSource("renders")
    void rendersAsJinja2(String template, String conversation, JsonNode render) throws IOException {
        JsonNode chat = index().at("/conversations/" + conversation);
        ChatTemplate prompt = new ChatTemplate(resource(template), render.get("bos_token").asText(),
                render.get("eos_token").asText(), RENDER_DATE);
        String expected = resource("expected/" + render.get("expected").asText());
        boolean addGenerationPrompt = chat.get("add_generation_prompt").asBoolean();
        if (render.get("kind").asText().equals("error")) {
            assertTrue(expected.startsWith("error:"), expected);
            ChatTemplateException e = assertThrows(ChatTemplateException.class,
                    () -> prompt.render(messages(chat), addGenerationPrompt));
            assertTrue(e.getMessage().startsWith("the chat template "), e.getMessage());
        } else {
            assertEquals(expected, prompt.render(messages(chat), addGenerationPrompt));
        }
    }

    @Test
    void toolUseTemplates_withoutTools_areRefusedAsJinja2RefusesThem() throws IOException {
        ChatTemplate hermes = new ChatTemplate(resource("NousResearch-Hermes-3-Llama-3.1-8B-tool_use.jinja"),
                "<|begin_of_text|>", "<|im_end|>", RENDER_DATE);
        ChatTemplateException e = assertThrows(ChatTemplateException.class,
                () -> hermes.render(List.of(new ChatMessage("user", "Hi")), true));
        assertEquals("the chat template cannot render this chat: 'tools' is None, which cannot be iterated"
                + " (jinja2: TypeError: 'NoneType' object is not iterable)", e.getMessage());
    }

    @Test
    void loopOverAnUndefinedName_rendersNothing_asJinja2Does() {
        ChatTemplate template = new ChatTemplate("[{% for d in documents %}{{ d }}{% endfor %}]", "", "");
        assertEquals("[]", template.render(List.of(), false));
    }

    @Test
    void raiseException_refusesWithTheTemplatesOwnMessage() {
        ChatTemplate template = new ChatTemplate("{{ raise_exception('System role not supported') }}", "", "");
        ChatTemplateException e = assertThrows(ChatTemplateException.class,
                () -> template.render(List.of(new ChatMessage("system", "x")), true));
        assertEquals("the chat template refuses this chat: System role not supported", e.getMessage());
        assertInstanceOf(IllegalArgumentException.class, e);
    }

    @Test
    void strftimeNow_formatsTheRenderDate() {
        ChatTemplate template = new ChatTemplate("{{ strftime_now('%d %b %Y') }}", "", "", RENDER_DATE);
        assertEquals("26 Jul 2024", template.render(List.of(), false));
    }

    @Test
    void expressionWhitespaceControl_stripsAroundDashedExpressions() {
        ChatTemplate template = new ChatTemplate("a  \n  {{- 'b' -}}  \n  c", "", "");
        assertEquals("abc", template.render(List.of(), false));
    }

    @Test
    void modelWithoutTemplate_usesThePlainFormat() {
        try (LlamaModel embedded = ModelLoader.loadEmbedded()) {
            ChatFormat format = ChatFormat.of(embedded, true);
            assertInstanceOf(PlainChatFormat.class, format);
            assertEquals("user: Hi\nassistant:", format.render(List.of(new ChatMessage("user", "Hi")), true));
        }
    }
}
