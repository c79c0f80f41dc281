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

    /** Expected text: Python's datetime(2024, 7, 26, 12, 0).strftime of the same format. */
    @Test
    void strftimeNow_formatsTheRenderTimeAsPython() {
        ChatTemplate template = new ChatTemplate("{{ strftime_now('%a %A %b %B %d %m %y %Y %H %I %M %S %p %j %%') }}",
                "", "", RENDER_DATE);
        assertEquals("Fri Friday Jul July 26 07 24 2024 12 12 00 00 PM 208 %", template.render(List.of(), false));
        ChatTemplate unknown = new ChatTemplate("{{ strftime_now('%Q') }}", "", "", RENDER_DATE);
        ChatTemplateException e = assertThrows(ChatTemplateException.class, () -> unknown.render(List.of(), false));
        assertTrue(e.getMessage().startsWith("the chat template's strftime_now asks for %Q"), e.getMessage());
    }

    /** Renders {@code template} with no messages. */
    private static String render(String template) {
        return new ChatTemplate(template, "", "").render(List.of(), false);
    }

    /**
     * jinja2's whitespace rules (trim_blocks, lstrip_blocks, the - and + modifiers, comments, the final newline);
     * each expected text is what jinja2 3.1.6, configured as Hugging Face configures it, renders.
     */
    @Test
    void whitespace_followsJinja2() {
        assertEquals("1 2 ", render("{% for x in [1,2] %}{{ x }} {% endfor %}"));
        assertEquals("a\n  b\nc", render("a\n  {% if true %}\n  b\n  {% endif %}\nc"));
        assertEquals("a b c", render("a  {%- if true %} b {% endif -%}  c"));
        assertEquals("a    b", render("{{ 'a' }}  {# c #}  {{ 'b' }}"));
        assertEquals("xay", render("x {{- 'a' -}} y"));
        assertEquals("abc", render("a  \n  {{- 'b' -}}  \n  c"));
        assertEquals("  a\nb", render("  {%+ if true %}a{% endif +%}\nb\n"));
        assertEquals("-}} 1", render("{{ '-}}' }} {{ {'a': 1}['a'] }}\n"));
        assertEquals("  {{ x }} ", render("{% raw %}  {{ x }} {% endraw %}"));
    }

    @Test
    void unclosedTag_isRefusedNamingWhere() {
        ChatTemplateException e = assertThrows(ChatTemplateException.class,
                () -> new ChatTemplate("Hi {{ name ", "", ""));
        assertEquals("the chat template has a tag that is never closed: '{{ name '", e.getMessage());
    }

    @Test
    void loopFilter_keepsTheItemsItsConditionHolds() {
        assertEquals("a1F c3T ", render("{% for k, v in {'a': 1, 'return': 2, 'c': 3}.items() if k != 'return' %}"
                + "{{ k }}{{ v }}{{ 'T' if loop.last else 'F' }} {% endfor %}"));
    }

    @Test
    void loopElse_rendersOnceAndOnlyWhenNothingIsIterated() {
        assertEquals("a1ia2e|b1|none kept", render("{% for x in [1,2] %}a{{ x }}{% if x == 1 %}i{% else %}e{% endif %}"
                + "{% else %}b{% endfor %}|{% for x in [] %}a{% else %}b{{ 1 }}{% endfor %}|"
                + "{% for x in [1,2,3] if x > 5 %}a{% else %}none kept{% endfor %}"));
    }

    @Test
    void stringMethods_followPython() {
        assertEquals("b|[a, b, c]|[a, b, , ]|[a, b c]", render("{{ 'a</think>b'.split('</think>')[-1] }}|"
                + "{{ ' a b  c '.split() }}|{{ 'a|b||'.split('|') }}|{{ 'a b c'.split(' ', 1) }}"));
        assertEquals("a|a|a-|-a|True", render("{{ '  a '.strip() }}|{{ 'xxaxx'.strip('x') }}|"
                + "{{ '--a-'.lstrip('-') }}|{{ '-a--'.rstrip('-') }}|"
                + "{{ 'True' if 'ab'.startswith('a') and 'ab'.endswith(['x', 'b']) else 'False' }}"));
        assertEquals("AB|ab|Abc Def|Abc|a+b-c|a,b|2|-1", render("{{ 'aB'.upper() }}|{{ 'aB'.lower() }}|"
                + "{{ 'aBc dEF'.title() }}|{{ 'aBC'.capitalize() }}|{{ 'a-b-c'.replace('-', '+', 1) }}|"
                + "{{ ','.join(['a', 'b']) }}|{{ 'abc'.find('c') }}|{{ 'abc'.find('x') }}"));
    }

    @Test
    void stringIndexing_followsPython() {
        assertEquals("ac||bc", render("{{ 'abc'[0] }}{{ 'abc'[-1] }}|{{ 'abc'[5] }}|{{ 'abc'[1:] }}"));
    }

    @Test
    void itemsFilter_givesAMappingsPairsInOrder() {
        assertEquals("z=1 a=2 m=3 ", render("{% for k, v in {'z': 1, 'a': 2, 'm': 3} | items %}{{ k }}={{ v }} "
                + "{% endfor %}"));
    }

    /** Expected texts: Python's json.dumps(value, ensure_ascii=False[, indent=2]). */
    @Test
    void tojson_writesAsPythonsJsonDumps() {
        assertEquals("{\"z\": 1, \"a\": [1.5, \"é\\\"\", null, true], \"m\": {}}|1e-05|\"x\\ny\"",
                render("{% set d = {'z': 1, 'a': [1.5, 'é\"', none, true], 'm': {} } %}{{ d | tojson }}|"
                        + "{{ 0.00001 | tojson }}|{{ 'x\ny' | tojson }}"));
        assertEquals("{\n  \"a\": [\n    1\n  ]\n}", render("{{ {'a': [1]} | tojson(indent=2) }}"));
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
