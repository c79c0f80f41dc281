package dev.ultrakv.cli;

import dev.ultrakv.KVCacheConfig;
import dev.ultrakv.ModelSource;
import dev.ultrakv.UltraAdaptiveKVCacheEngine;
import dev.ultrakv.chat.ChatMessage;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ChatCommandTest {
    private static final Pattern USAGE = Pattern.compile("prompt: (\\d+) tokens, (\\d+) cached");

    /** Lines long enough that the first turn's prompt fills whole KV blocks (16 tokens) the next can reuse. */
    private static final String FIRST = "Once upon a time there was a little girl who lived in a small house"
            + " with her mother and her dog.";
    private static final String SECOND = "One day she went to the park to play with her friends.";

    @Test
    void secondTurn_reusesTheFirstTurnsPrefixFromTheKvCache() {
        CliRun run = CliRun.withInput(FIRST + "\n" + SECOND + "\n", "chat", "-n", "8", "--temperature", "0");
        assertEquals(0, run.exitCode(), run.err());
        List<int[]> usage = usage(run.err());
        assertEquals(2, usage.size(), run.err());
        assertEquals(0, usage.get(0)[1], "nothing is cached before the first turn");
        assertTrue(usage.get(1)[1] > 0, "turn 2 reuses turn 1's prompt: " + run.err());
        assertTrue(usage.get(1)[0] > usage.get(0)[0], "turn 2's prompt holds the whole history");
        assertTrue(run.err().contains("the plain format"), run.err());
        assertEquals(3, run.out().split("> ", -1).length - 1, "a prompt before each line and before the end");
    }

    @Test
    void modelsTemplate_rendersEachTurn_andTheNextTurnReusesThePrefix(@TempDir Path dir) throws IOException {
        Path model = dir.resolve("chatml.gguf");
        TinyModels.write(model, "{% for m in messages %}<|im_start|>{{ m.role }}\n{{ m.content }}<|im_end|>\n"
                + "{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}");
        // test-tiny was made with 128 positions and its byte-level vocabulary spends many tokens on a chat.
        CliRun run = CliRun.withInput("Hi there\nAnd then?\n", "chat", "--model", model.toString(), "-n", "4",
                "--temperature", "0", "--system", "Tell stories.", "--context-length", "1024");
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.err().contains("in its own chat template"), run.err());
        List<int[]> usage = usage(run.err());
        assertEquals(2, usage.size(), run.err());
        assertTrue(usage.get(1)[1] > 0, "turn 2 reuses turn 1's prompt: " + run.err());
    }

    @Test
    void reset_forgetsTheHistory_andExitEndsTheChat() {
        CliRun run = CliRun.withInput(FIRST + "\n/reset\n" + SECOND + "\n/exit\nnever read\n", "chat", "-n", "4",
                "--temperature", "0");
        assertEquals(0, run.exitCode(), run.err());
        List<int[]> usage = usage(run.err());
        assertEquals(2, usage.size(), "the line after /exit is not read: " + run.err());
        try (var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().model(ModelSource.embedded())
                .build())) {
            String alone = engine.chatFormat().render(List.of(new ChatMessage("user", SECOND)), true);
            assertEquals(engine.tokenize(alone, true).length, usage.get(1)[0], "after /reset only the new line");
        }
    }

    @Test
    void cancelledReply_endsThatReplyOnly_andJoinsTheHistory() {
        try (var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().model(ModelSource.embedded())
                .build())) {
            ChatSession session = new ChatSession(engine, null, new ChatSession.Settings(200, 0f, 0.9f, 0, 1));
            ChatSession[] self = {session};
            ChatSession.Reply stopped = session.reply(FIRST, text -> self[0].cancelReply());
            assertTrue(stopped.cancelled());
            assertFalse(session.cancelReply(), "nothing is in flight once the reply returned");
            ChatSession.Reply next = session.reply(SECOND, text -> { });
            assertFalse(next.cancelled());
            List<ChatMessage> history = session.messages();
            assertEquals(4, history.size());
            assertEquals(new ChatMessage("assistant", stopped.text()), history.get(1));
            assertEquals(new ChatMessage("assistant", next.text()), history.get(3));
        }
    }

    @Test
    void chatTooLongForTheContext_isRefused_andTheChatGoesOn() {
        String tooLong = "word ".repeat(600);
        CliRun run = CliRun.withInput(tooLong + "\n" + SECOND + "\n", "chat", "-n", "4", "--temperature", "0");
        assertEquals(0, run.exitCode(), run.err());
        assertTrue(run.err().contains("no room for a reply"), run.err());
        assertEquals(1, usage(run.err()).size(), run.err());
    }

    private static List<int[]> usage(String err) {
        Matcher m = USAGE.matcher(err);
        List<int[]> found = new ArrayList<>();
        while (m.find()) {
            found.add(new int[] {Integer.parseInt(m.group(1)), Integer.parseInt(m.group(2))});
        }
        return found;
    }
}
