package dev.ultrakv.chat;

import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.tokenizer.Tokenizer;
import java.util.List;

/**
 * Turns a chat's messages into the prompt text a model continues: the model's own Jinja template
 * ({@link ChatTemplate}) when its file carries one, else the {@link PlainChatFormat}.
 */
public sealed interface ChatFormat permits ChatTemplate, PlainChatFormat {
    /**
     * The prompt for {@code messages}.
     *
     * @param addGenerationPrompt whether to open the assistant's reply at the end
     * @throws ChatTemplateException when the template refuses the chat or cannot render it
     */
    String render(List<ChatMessage> messages, boolean addGenerationPrompt);

    /** How chats are written, in a phrase a user reads (the server's {@code /v1/models} says it). */
    String description();

    /**
     * The format of a model: its template, or the plain format when it has none.
     *
     * @param template the model's GGUF {@code tokenizer.chat_template}, or null
     * @param bosToken what the template's {@code bos_token} renders as
     * @param eosToken what the template's {@code eos_token} renders as
     */
    static ChatFormat of(String template, String bosToken, String eosToken) {
        return template == null ? PlainChatFormat.INSTANCE : new ChatTemplate(template, bosToken, eosToken);
    }

    /**
     * The format of {@code model}: its template (GGUF {@code tokenizer.chat_template}) with the texts of its
     * tokenizer's BOS and EOS tokens, or the plain format when it has none.
     *
     * @param bosInText whether {@code bos_token} renders as the BOS token's text (a prompt shown to a user, as
     *                  llama.cpp renders it) or as nothing (a prompt the engine tokenizes: it puts the BOS token
     *                  first itself, and a second one would change what the model reads)
     */
    static ChatFormat of(LlamaModel model, boolean bosInText) {
        Tokenizer tokenizer = model.tokenizer();
        String bos = bosInText ? tokenizer.piece(tokenizer.bosId()) : "";
        return of(model.chatTemplate().orElse(null), bos, tokenizer.piece(tokenizer.eosId()));
    }
}
