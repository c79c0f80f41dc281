package dev.ultrakv.cli;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class TemplateCommandTest {
    /**
     * The real templates and jinja2's renders of them, kept once in the engine's test resources (see their
     * README and licence there); Maven runs the CLI's tests in the cli folder.
     */
    private static final Path TEMPLATES = Path.of("../engine/src/test/resources/chat-templates");

    /** Every conversation of the index with every template, through the command, as jinja2 renders it. */
    @Test
    void rendersEveryIndexedChatAsJinja2(@TempDir Path dir) throws IOException {
        JsonNode index = new ObjectMapper().readTree(TEMPLATES.resolve("expected/index.json").toFile());
        int checked = 0;
        List<String> wrong = new ArrayList<>();
        for (JsonNode render : index.get("renders")) {
            String conversation = render.get("conversation").asText();
            JsonNode chat = index.at("/conversations/" + conversation);
            Path messages = dir.resolve(conversation + ".json");
            Files.writeString(messages, chat.get("messages").toString());
            List<String> args = new ArrayList<>(List.of("template", "--template",
                    TEMPLATES.resolve(render.get("template").asText()).toString(), "--messages", messages.toString(),
                    "--bos", render.get("bos_token").asText(), "--eos", render.get("eos_token").asText(),
                    "--date", "2024-07-26"));
            if (!chat.get("add_generation_prompt").asBoolean()) {
                args.add("--no-generation-prompt");
            }
            CliRun run = CliRun.of(args.toArray(String[]::new));
            String expected = Files.readString(TEMPLATES.resolve("expected/" + render.get("expected").asText()));
            String name = render.get("template").asText() + " " + conversation;
            if (render.get("kind").asText().equals("error")) {
                if (run.exitCode() != 1 || !run.err().startsWith("ultrakv: the chat template ")
                        || !run.out().isEmpty()) {
                    wrong.add(name + ": not refused: " + run.err() + run.out());
                }
            } else if (run.exitCode() != 0 || !run.out().equals(expected)) {
                wrong.add(name + ": " + run.err() + run.out());
            }
            checked++;
        }
        assertEquals(List.of(), wrong);
        assertEquals(index.get("renders").size(), checked);
        assertTrue(checked >= 51, "the index's 51 renders");
    }

    @Test
    void systemAndUserOptions_renderAsTheSameMessagesFile(@TempDir Path dir) throws IOException {
        Path messages = dir.resolve("chat.json");
        Files.writeString(messages, "{\"messages\": [{\"role\": \"system\", \"content\": \"Be brief.\"},"
                + " {\"role\": \"user\", \"content\": \"Hi\"}]}");
        String template = TEMPLATES.resolve("Qwen-Qwen2.5-7B-Instruct.jinja").toString();
        CliRun fromFile = CliRun.of("template", "--template", template, "--messages", messages.toString());
        CliRun fromOptions = CliRun.of("template", "--template", template, "--system", "Be brief.", "--user", "Hi");
        assertEquals(0, fromFile.exitCode(), fromFile.err());
        assertEquals(fromFile.out(), fromOptions.out());
        assertEquals("<|im_start|>system\nBe brief.<|im_end|>\n<|im_start|>user\nHi<|im_end|>\n"
                + "<|im_start|>assistant\n", fromOptions.out());
    }

    @Test
    void templateRefusal_isToldInTheTemplatesOwnWords() {
        CliRun run = CliRun.of("template", "--template", TEMPLATES.resolve("google-gemma-2-2b-it.jinja").toString(),
                "--system", "Be brief.", "--user", "Hi");
        assertEquals(1, run.exitCode());
        assertEquals("ultrakv: the chat template refuses this chat: System role not supported", run.err().strip());
    }

    @Test
    void malformedMessagesFile_namesTheFileAndTheJsonPath(@TempDir Path dir) throws IOException {
        String template = TEMPLATES.resolve("Qwen-Qwen2.5-7B-Instruct.jinja").toString();
        Path file = dir.resolve("bad.json");
        Files.writeString(file, "[{\"role\": \"user\", \"content\": \"Hi\"},"
                + " {\"role\": \"assistant\", \"content\": 7}]");
        CliRun badContent = CliRun.of("template", "--template", template, "--messages", file.toString());
        assertEquals(1, badContent.exitCode());
        assertEquals("ultrakv: --messages " + file + ": $[1].content: expected a string, found number",
                badContent.err().strip());

        Files.writeString(file, "{\"messages\": [{\"content\": \"Hi\"}]}");
        CliRun noRole = CliRun.of("template", "--template", template, "--messages", file.toString());
        assertEquals("ultrakv: --messages " + file + ": $.messages[0]: the message has no 'role'",
                noRole.err().strip());

        Files.writeString(file, "[{\"role\": \"user\", ");
        CliRun notJson = CliRun.of("template", "--template", template, "--messages", file.toString());
        assertTrue(notJson.err().startsWith("ultrakv: --messages " + file + ": not valid JSON at line 1"),
                notJson.err());
    }

    @Test
    void modelsTemplate_rendersWithItsOwnBosAndEosTexts(@TempDir Path dir) throws IOException {
        Path model = dir.resolve("chatty.gguf");
        TinyModels.write(model, "{{ bos_token }}{% for m in messages %}[{{ m.role }}] {{ m.content }}{{ eos_token }}"
                + "{% endfor %}{% if add_generation_prompt %}[assistant]{% endif %}");
        CliRun run = CliRun.of("template", "--model", model.toString(), "--user", "Hi");
        assertEquals(0, run.exitCode(), run.err());
        assertEquals("<s>[user] Hi</s>[assistant]", run.out());

        CliRun overridden = CliRun.of("template", "--model", model.toString(), "--user", "Hi", "--bos", "",
                "--no-generation-prompt");
        assertEquals("[user] Hi</s>", overridden.out());
    }

    @Test
    void modelWithoutTemplate_isRefused_sayingItUsesThePlainFormat(@TempDir Path dir) throws IOException {
        Path model = dir.resolve("plain.gguf");
        TinyModels.write(model, null);
        CliRun run = CliRun.of("template", "--model", model.toString(), "--user", "Hi");
        assertEquals(1, run.exitCode());
        assertEquals("ultrakv: model plain has no chat template (GGUF tokenizer.chat_template); chats with it use"
                + " the plain format: each message as '<role>: <content>\\n', then 'assistant:'", run.err().strip());
    }
}
