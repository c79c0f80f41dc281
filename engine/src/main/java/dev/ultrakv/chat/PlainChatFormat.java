package dev.ultrakv.chat;

import java.util.List;

/**
 * How a chat is written for a model without a template: each message as {@code "<role>: <content>\n"} and, when
 * a reply is wanted, {@code "assistant:"} at the end. The embedded stories260K model has no template and was never
 * trained on chats: it continues such a prompt as a story.
 */
public final class PlainChatFormat implements ChatFormat {
    /** The plain format (it has no state). */
    public static final PlainChatFormat INSTANCE = new PlainChatFormat();

    /** The format in words. */
    public static final String DESCRIPTION = "each message as '<role>: <content>\\n', then 'assistant:'";

    private PlainChatFormat() {
    }

    @Override
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        StringBuilder prompt = new StringBuilder();
        for (ChatMessage m : messages) {
            prompt.append(m.role()).append(": ").append(m.content()).append('\n');
        }
        if (addGenerationPrompt) {
            prompt.append("assistant:");
        }
        return prompt.toString();
    }

    @Override
    public String description() {
        return DESCRIPTION;
    }
}
