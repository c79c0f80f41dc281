package dev.ultrakv.chat;

import java.util.Objects;

/**
 * One message of a chat.
 *
 * @param role    who wrote it: {@code system}, {@code user}, {@code assistant}, or a role a template knows
 * @param content what it says
 */
public record ChatMessage(String role, String content) {
    /** A message; neither part may be null. */
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(content, "content");
    }
}
