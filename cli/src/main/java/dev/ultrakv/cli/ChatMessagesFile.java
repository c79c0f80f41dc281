package dev.ultrakv.cli;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.ultrakv.chat.ChatMessage;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * A chat read from a JSON file: an array of {@code {"role": ..., "content": ...}} objects, or an object whose
 * {@code messages} is such an array (the body of an OpenAI chat request). A malformed file is refused with its
 * name and the JSON path of what is wrong ({@code $.messages[1].content}).
 */
final class ChatMessagesFile {
    /** Largest file read: a chat, not a corpus; the limit keeps a wrong path from filling memory. */
    static final long MAX_BYTES = 64L << 20;

    private ChatMessagesFile() {
    }

    /**
     * The messages of {@code file}.
     *
     * @throws IllegalArgumentException naming the file and, for bad JSON or a bad message, where in it
     */
    static List<ChatMessage> read(Path file) {
        JsonNode root = parse(file);
        JsonNode array = root;
        String path = "$";
        if (root.isObject()) {
            array = root.get("messages");
            path = "$.messages";
            if (array == null) {
                throw bad(file, "$", "an object without 'messages'; give an array of messages or an object whose"
                        + " 'messages' is one");
            }
        }
        if (!array.isArray()) {
            throw bad(file, path, "expected an array of messages, found " + kind(array));
        }
        if (array.isEmpty()) {
            throw bad(file, path, "the chat has no messages");
        }
        List<ChatMessage> messages = new ArrayList<>(array.size());
        for (int i = 0; i < array.size(); i++) {
            String at = path + "[" + i + "]";
            JsonNode m = array.get(i);
            if (!m.isObject()) {
                throw bad(file, at, "expected a message object {\"role\": ..., \"content\": ...}, found " + kind(m));
            }
            messages.add(new ChatMessage(text(file, m, at, "role"), text(file, m, at, "content")));
        }
        return messages;
    }

    private static String text(Path file, JsonNode message, String at, String field) {
        JsonNode value = message.get(field);
        if (value == null) {
            throw bad(file, at, "the message has no '" + field + "'");
        }
        if (!value.isTextual()) {
            throw bad(file, at + "." + field, "expected a string, found " + kind(value));
        }
        return value.asText();
    }

    private static JsonNode parse(Path file) {
        try {
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException("--messages " + file + ": no such file");
            }
            long size = Files.size(file);
            if (size > MAX_BYTES) {
                throw new IllegalArgumentException("--messages " + file + " holds " + size + " bytes; a chat is read"
                        + " up to " + MAX_BYTES);
            }
            JsonNode root = new ObjectMapper().readTree(file.toFile());
            if (root == null || root.isMissingNode()) {
                throw new IllegalArgumentException("--messages " + file + ": the file is empty");
            }
            return root;
        } catch (JacksonException e) {
            JsonLocation where = e.getLocation();
            String at = where == null ? "" : " at line " + where.getLineNr() + ", column " + where.getColumnNr();
            throw new IllegalArgumentException("--messages " + file + ": not valid JSON" + at + ": "
                    + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new UncheckedIOException("--messages " + file + ": cannot be read: " + e.getMessage(), e);
        }
    }

    private static String kind(JsonNode node) {
        return node.getNodeType().name().toLowerCase(java.util.Locale.ROOT);
    }

    private static IllegalArgumentException bad(Path file, String path, String what) {
        return new IllegalArgumentException("--messages " + file + ": " + path + ": " + what);
    }
}
