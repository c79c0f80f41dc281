package dev.ultrakv.server;

import static dev.ultrakv.server.TestServers.json;
import static dev.ultrakv.server.TestServers.post;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The OpenAI API's sampling fields, stop strings, token prompts and log-probabilities, on the wire. */
class SamplingFieldsTest {
    private static UltraKvServer server;

    @BeforeAll
    static void start() throws Exception {
        server = TestServers.start(ServerConfig.defaults());
    }

    @AfterAll
    static void stop() {
        server.close();
    }

    private static JsonNode ok(String path, String body) throws Exception {
        HttpResponse<String> response = post(server, path, body);
        assertEquals(200, response.statusCode(), response.body());
        return json(response.body());
    }

    private static String completion(String extra) throws Exception {
        return ok("/v1/completions", "{\"prompt\": \"Once upon a time\", \"max_tokens\": 24, \"temperature\": 0"
                + extra + "}").at("/choices/0/text").asText();
    }

    @Test
    void settingsThatKeepOnlyTheMostLikelyTokenAnswerAsGreedy() throws Exception {
        String greedy = completion("");
        assertEquals(greedy, ok("/v1/completions", "{\"prompt\": \"Once upon a time\", \"max_tokens\": 24,"
                + " \"temperature\": 1.5, \"top_k\": 1, \"seed\": 3}").at("/choices/0/text").asText());
        assertEquals(greedy, completion(", \"top_p\": 0.5, \"min_p\": 0.1"));
    }

    @Test
    void aStopStringEndsTheTextBeforeItWithFinishReasonStop() throws Exception {
        String greedy = completion("");
        String stop = greedy.substring(greedy.indexOf(' ', 10), greedy.indexOf(' ', 10) + 3);
        JsonNode body = ok("/v1/completions", "{\"prompt\": \"Once upon a time\", \"max_tokens\": 24,"
                + " \"temperature\": 0, \"stop\": \"" + stop + "\"}");
        assertEquals(greedy.substring(0, greedy.indexOf(stop)), body.at("/choices/0/text").asText());
        assertEquals("stop", body.at("/choices/0/finish_reason").asText());
    }

    @Test
    void ignoreEosGeneratesMaxTokensPastTheEndOfTheStory() throws Exception {
        JsonNode story = ok("/v1/completions", "{\"prompt\": \"Once upon a time\", \"max_tokens\": 400,"
                + " \"temperature\": 0}");
        assertEquals("stop", story.at("/choices/0/finish_reason").asText(), "the premise: the story ends by itself");
        JsonNode longer = ok("/v1/completions", "{\"prompt\": \"Once upon a time\", \"max_tokens\": 400,"
                + " \"temperature\": 0, \"ignore_eos\": true}");
        assertEquals("length", longer.at("/choices/0/finish_reason").asText());
        assertEquals(400, longer.at("/usage/completion_tokens").asInt());
        assertTrue(longer.at("/choices/0/text").asText().startsWith(story.at("/choices/0/text").asText()));
        HttpResponse<String> bad = post(server, "/v1/completions", "{\"prompt\": \"Hi\", \"ignore_eos\": 1}");
        assertEquals(400, bad.statusCode());
        assertEquals("ignore_eos", json(bad.body()).at("/error/param").asText());
    }

    @Test
    void aPromptOfTokenIdsIsServedAsItsText() throws Exception {
        JsonNode tokens = ok("/tokenize", "{\"content\": \"Once upon a time\", \"add_special\": true}")
                .get("tokens");
        JsonNode body = ok("/v1/completions", "{\"prompt\": " + tokens + ", \"max_tokens\": 24,"
                + " \"temperature\": 0}");
        assertEquals(completion(""), body.at("/choices/0/text").asText());
        assertEquals(tokens.size(), body.at("/usage/prompt_tokens").asInt());
    }

    @Test
    void chatLogprobsCarryTheTokenItsBytesAndTheMostLikelyAlternatives() throws Exception {
        JsonNode body = ok("/v1/chat/completions", "{\"messages\": [{\"role\": \"user\", \"content\": \"Hi\"}],"
                + " \"max_tokens\": 5, \"temperature\": 0, \"logprobs\": true, \"top_logprobs\": 3}");
        JsonNode content = body.at("/choices/0/logprobs/content");
        assertEquals(body.at("/usage/completion_tokens").asInt(), content.size());
        StringBuilder text = new StringBuilder();
        for (JsonNode entry : content) {
            assertEquals(3, entry.get("top_logprobs").size());
            assertEquals(entry.get("token").asText(), entry.at("/top_logprobs/0/token").asText(), "greedy");
            assertTrue(entry.get("logprob").asDouble() <= 0);
            assertEquals(entry.get("token").asText().getBytes(java.nio.charset.StandardCharsets.UTF_8).length,
                    entry.get("bytes").size());
            text.append(entry.get("token").asText());
        }
        assertEquals(body.at("/choices/0/message/content").asText(), text.toString());
    }

    @Test
    void completionLogprobsAreTheLegacyParallelArraysAlsoWhenStreamed() throws Exception {
        JsonNode body = ok("/v1/completions", "{\"prompt\": \"Once upon a time\", \"max_tokens\": 6,"
                + " \"temperature\": 0, \"logprobs\": 2}");
        JsonNode logprobs = body.at("/choices/0/logprobs");
        assertEquals(6, logprobs.get("tokens").size());
        assertEquals(6, logprobs.get("token_logprobs").size());
        assertEquals(6, logprobs.get("top_logprobs").size());
        assertEquals(0, logprobs.at("/text_offset/0").asInt());
        assertEquals(logprobs.at("/tokens/0").asText().length(), logprobs.at("/text_offset/1").asInt());
        String streamed = post(server, "/v1/completions", "{\"prompt\": \"Once upon a time\", \"max_tokens\": 6,"
                + " \"temperature\": 0, \"logprobs\": 2, \"stream\": true}").body();
        int chunks = 0;
        for (String event : streamed.split("\n\n")) {
            if (event.startsWith("data: {") && event.contains("\"token_logprobs\"")) {
                chunks++;
            }
        }
        assertEquals(6, chunks, "each streamed token carries its log-probability");
    }
}
