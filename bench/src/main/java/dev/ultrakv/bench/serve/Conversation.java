package dev.ultrakv.bench.serve;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * One client's session with the server: an optional system prompt and the user's turns, sent one after another,
 * each turn's request repeating every earlier turn and the server's answers to them (one turn for every workload
 * but {@code multi-turn}).
 *
 * @param system    the system prompt (a shared prefix), or empty
 * @param userTurns the user's messages, at least one
 */
public record Conversation(String system, List<String> userTurns) {
    /** Separates the system prompt and the turns in a completion prompt. */
    static final String TURN_SEPARATOR = "\n\n";

    /** Copies the turns; a conversation needs at least one. */
    public Conversation {
        userTurns = List.copyOf(userTurns);
        if (userTurns.isEmpty()) {
            throw new IllegalArgumentException("a conversation needs a turn");
        }
    }

    /**
     * The completion prompt of turn {@code turn}: the system prompt, then each earlier turn followed by the answer
     * it got, then this turn. The next turn's prompt begins with this one and its answer, so a server with a
     * prefix cache can reuse it.
     *
     * @param answers the server's answers to the turns before {@code turn}, in order
     */
    public String completionPrompt(int turn, List<String> answers) {
        StringBuilder prompt = new StringBuilder();
        if (!system.isEmpty()) {
            prompt.append(system).append(TURN_SEPARATOR);
        }
        for (int t = 0; t < turn; t++) {
            prompt.append(userTurns.get(t)).append(answers.get(t)).append(TURN_SEPARATOR);
        }
        return prompt.append(userTurns.get(turn)).toString();
    }

    /** The chat messages of turn {@code turn}: system, then user and assistant for each earlier turn, then user. */
    public List<Map<String, String>> chatMessages(int turn, List<String> answers) {
        List<Map<String, String>> messages = new ArrayList<>();
        if (!system.isEmpty()) {
            messages.add(message("system", system));
        }
        for (int t = 0; t < turn; t++) {
            messages.add(message("user", userTurns.get(t)));
            messages.add(message("assistant", answers.get(t)));
        }
        messages.add(message("user", userTurns.get(turn)));
        return messages;
    }

    private static Map<String, String> message(String role, String content) {
        Map<String, String> message = new LinkedHashMap<>();
        message.put("role", role);
        message.put("content", content);
        return message;
    }
}
