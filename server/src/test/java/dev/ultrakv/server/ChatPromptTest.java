package dev.ultrakv.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.ultrakv.chat.ChatFormat;
import dev.ultrakv.chat.ChatMessage;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The server's use of chat formats: the renders themselves are tested in the engine (ChatTemplateTest, against
 * Python jinja2's renders of real templates).
 */
class ChatPromptTest {
    @Test
    void plainFormatWritesRolesThenOpensTheAssistant() {
        ChatPrompt plain = new ChatPrompt(ChatFormat.of(null, "", ""));
        assertEquals("system: Be brief.\nuser: Hi\nassistant:", plain.render(List.of(
                new ChatMessage("system", "Be brief."), new ChatMessage("user", "Hi")), true));
    }

    @Test
    void templateRefusalIsA400NamingMessages() {
        ChatPrompt strict = new ChatPrompt(ChatFormat.of("{{ raise_exception('no system role') }}", "", ""));
        ApiError e = assertThrows(ApiError.class, () -> strict.render(List.of(new ChatMessage("user", "Hi")),
                true));
        assertEquals("messages", e.param());
        assertEquals(400, e.status());
        assertEquals("the chat template refuses this chat: no system role", e.getMessage());
    }
}
