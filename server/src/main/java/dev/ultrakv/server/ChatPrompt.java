package dev.ultrakv.server;

import dev.ultrakv.chat.ChatFormat;
import dev.ultrakv.chat.ChatMessage;
import dev.ultrakv.chat.ChatTemplateException;
import dev.ultrakv.chat.PlainChatFormat;
import java.util.List;
import java.util.Objects;

/**
 * The server's side of chat formats ({@link ChatFormat}, shared with the CLI): renders a request's messages and
 * answers a template's refusal of them with a 400 naming {@code messages}.
 */
public final class ChatPrompt {
    /** How a chat is written for a model without a template (also said in {@code /v1/models}). */
    public static final String PLAIN_FORMAT = PlainChatFormat.DESCRIPTION;

    private final ChatFormat format;

    /** Prompts in {@code format}. */
    public ChatPrompt(ChatFormat format) {
        this.format = Objects.requireNonNull(format, "format");
    }

    /**
     * The prompt for {@code messages}.
     *
     * @param addGenerationPrompt whether to open the assistant's reply at the end
     * @throws ApiError a 400 naming {@code messages} when the template refuses the chat or cannot render it
     */
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        try {
            return format.render(messages, addGenerationPrompt);
        } catch (ChatTemplateException e) {
            throw ApiError.invalid("messages", e.getMessage());
        }
    }
}
