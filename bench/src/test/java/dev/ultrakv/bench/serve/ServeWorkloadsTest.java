package dev.ultrakv.bench.serve;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Set;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class ServeWorkloadsTest {
    private static final String URL = "http://127.0.0.1:1";

    private static int words(String text) {
        return text.isEmpty() ? 0 : text.split(" ").length;
    }

    @Test
    void random_isSeeded_andEachLevelGetsItsOwnText() {
        ServeSettings settings = ServeSettings.builder(URL).requests(20).promptWords(12).seed(7).build();
        List<Conversation> a = ServeWorkloads.conversations(settings, 0);
        assertEquals(a, ServeWorkloads.conversations(settings, 0), "same seed, same text");
        assertNotEquals(a, ServeWorkloads.conversations(settings, 1), "another level, other text");
        assertNotEquals(a, ServeWorkloads.conversations(ServeSettings.builder(URL).requests(20).promptWords(12)
                .seed(8).build(), 0));
        assertEquals(20, a.size());
        for (Conversation c : a) {
            assertEquals("", c.system());
            assertEquals(12, words(c.userTurns().getFirst()));
            assertTrue(ServeWorkloads.WORDS.containsAll(List.of(c.userTurns().getFirst().split(" "))));
        }
        assertEquals(20, a.stream().map(c -> c.userTurns().getFirst()).distinct().count());
    }

    @Test
    void warmup_hasItsOwnCountAndNoPromptALevelSends() {
        ServeSettings settings = ServeSettings.builder(URL).workload("shared-prefix", null).requests(30)
                .prefixes(2).prefixWords(20).promptWords(8).warmupRequests(5).concurrencyLevels(List.of(1, 4)).build();
        List<Conversation> warmup = ServeWorkloads.warmup(settings);
        assertEquals(5, warmup.size());
        Set<String> measured = new HashSet<>();
        for (int level = 0; level < 2; level++) {
            for (Conversation c : ServeWorkloads.conversations(settings, level)) {
                measured.add(c.system());
                measured.addAll(c.userTurns());
            }
        }
        for (Conversation c : warmup) {
            assertTrue(!measured.contains(c.system()), "a warm-up prefix is also a level's: " + c.system());
            assertTrue(c.userTurns().stream().noneMatch(measured::contains));
        }
        assertThrows(IllegalArgumentException.class, () -> ServeSettings.builder(URL).warmupRequests(-1).build());
    }

    @Test
    void sharedPrefix_usesFewPrefixes_andTheSharedShareIsPrefixOverPrompt() {
        ServeSettings settings = ServeSettings.builder(URL).workload("shared-prefix", null).requests(200)
                .prefixes(3).prefixWords(48).promptWords(16).build();
        List<Conversation> conversations = ServeWorkloads.conversations(settings, 0);
        Set<String> prefixes = new HashSet<>();
        long shared = 0;
        long total = 0;
        for (Conversation c : conversations) {
            prefixes.add(c.system());
            String prompt = c.completionPrompt(0, List.of());
            assertTrue(prompt.startsWith(c.system() + Conversation.TURN_SEPARATOR));
            shared += words(c.system());
            total += words(c.system()) + words(c.userTurns().getFirst());
        }
        assertEquals(3, prefixes.size(), "every prefix used, no other");
        assertEquals(48.0 / 64, (double) shared / total, 1e-12);
    }

    @Test
    void multiTurn_hasExactlyTheRequests_andEachTurnRepeatsTheEarlierTurnsAndAnswers() {
        ServeSettings settings = ServeSettings.builder(URL).workload("multi-turn", null).requests(10).turns(4)
                .promptWords(5).build();
        List<Conversation> conversations = ServeWorkloads.conversations(settings, 0);
        assertEquals(List.of(4, 4, 2), conversations.stream().map(c -> c.userTurns().size()).toList());
        Conversation c = conversations.getFirst();
        List<String> answers = List.of(" one", " two", " three");
        String previous = c.completionPrompt(0, answers);
        for (int t = 1; t < 4; t++) {
            String prompt = c.completionPrompt(t, answers);
            assertTrue(prompt.startsWith(previous + answers.get(t - 1)), "turn " + t);
            previous = prompt;
        }
        assertEquals(5, c.chatMessages(2, answers).size(), "user, assistant, user, assistant, user");
        assertEquals("assistant", c.chatMessages(2, answers).get(1).get("role"));
    }

    @Test
    void trace_sharedHashIdsGiveSharedText(@TempDir Path dir) throws IOException {
        Path trace = dir.resolve("trace.jsonl");
        Files.writeString(trace, """
                {"timestamp": 0, "input_length": 1024, "output_length": 10, "hash_ids": [1, 2]}
                {"timestamp": 5, "input_length": 1536, "output_length": 10, "hash_ids": [1, 2, 3]}
                {"timestamp": 9, "input_length": 512, "output_length": 10, "hash_ids": [4]}
                """);
        ServeSettings settings = ServeSettings.builder(URL).workload("trace", trace.toString()).requests(100)
                .wordsPerBlock(3).build();
        List<String> texts = ServeWorkloads.conversations(settings, 0).stream()
                .map(c -> c.userTurns().getFirst()).toList();
        assertEquals(3, texts.size(), "a shorter trace gives each request once");
        assertEquals(6, words(texts.get(0)));
        assertTrue(texts.get(1).startsWith(texts.get(0) + " "));
        assertEquals(9, words(texts.get(1)));
        assertNotEquals(texts.get(0).substring(0, 5), texts.get(2).substring(0, 5));
        assertThrows(IllegalArgumentException.class, () -> ServeWorkloads.conversations(ServeSettings.builder(URL)
                .workload("trace", dir.resolve("missing.jsonl").toString()).build(), 0));
    }

    @Test
    void badSettings_nameTheOption() {
        var e = assertThrows(IllegalArgumentException.class, () -> ServeSettings.builder(URL).requests(0).build());
        assertTrue(e.getMessage().contains("--requests"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ServeSettings.builder("ftp://x").build());
        assertTrue(e.getMessage().contains("--url"), e.getMessage());
        e = assertThrows(IllegalArgumentException.class, () -> ServeSettings.builder(URL).workload("trace", null)
                .build());
        assertTrue(e.getMessage().contains("trace FILE"), e.getMessage());
        assertEquals("http://127.0.0.1:8080", ServeSettings.builder("http://127.0.0.1:8080/v1/").build().url());
    }
}
