package dev.ultrakv.chat;

/**
 * A chat template refused a chat (its own {@code raise_exception}) or could not render it; the message says why,
 * in the template's words where it gave them.
 */
public final class ChatTemplateException extends IllegalArgumentException {
    private static final long serialVersionUID = 1L;

    /** A failure told by {@code message}. */
    public ChatTemplateException(String message) {
        super(message);
    }
}
