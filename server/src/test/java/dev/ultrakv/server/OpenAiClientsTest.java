package dev.ultrakv.server;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.http.StreamResponse;
import com.openai.errors.BadRequestException;
import com.openai.errors.NotFoundException;
import com.openai.errors.UnauthorizedException;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.completions.Completion;
import com.openai.models.completions.CompletionCreateParams;
import dev.langchain4j.model.chat.response.ChatResponse;
import dev.langchain4j.model.chat.response.StreamingChatResponseHandler;
import dev.langchain4j.model.openai.OpenAiChatModel;
import dev.langchain4j.model.openai.OpenAiStreamingChatModel;
import dev.langchain4j.model.openai.OpenAiTokenUsage;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The server driven by clients nobody here wrote: the official OpenAI Java SDK and LangChain4j. */
class OpenAiClientsTest {
    private static final String KEY = "test-key-7f3a";
    private static UltraKvServer server;
    private static OpenAIClient openai;

    @BeforeAll
    static void start() throws Exception {
        server = TestServers.start(ServerConfig.defaults().withApiKey(KEY));
        openai = OpenAIOkHttpClient.builder().baseUrl(server.baseUrl() + "/v1").apiKey(KEY).maxRetries(0).build();
    }

    @AfterAll
    static void stop() {
        openai.close();
        server.close();
    }

    private static String model() {
        return server.engine().modelInfo().name();
    }

    @Test
    void completionMatchesTheEngineAndCountsTokens() {
        Completion completion = openai.completions().create(CompletionCreateParams.builder().model(model())
                .prompt("Once upon a time").maxTokens(12).temperature(0.0).build());
        String expected = server.engine().processRequest(dev.ultrakv.Request.builder().text("Once upon a time")
                .maxNewTokens(12).build()).join().text();
        assertEquals(expected, completion.choices().get(0).text());
        assertEquals("length", completion.choices().get(0).finishReason().asString());
        assertEquals(12, completion.usage().orElseThrow().completionTokens());
        assertTrue(completion.id().startsWith("cmpl-"));
    }

    @Test
    void repeatedPromptReportsCachedTokens() {
        String prompt = "The little dog ran to the park with his ball and his best friend, a cat named Tom.";
        CompletionCreateParams params = CompletionCreateParams.builder().model(model()).prompt(prompt).maxTokens(4)
                .temperature(0.0).build();
        openai.completions().create(params);
        Completion second = openai.completions().create(params);
        long cached = second.usage().orElseThrow().promptTokensDetails().orElseThrow().cachedTokens().orElseThrow();
        assertTrue(cached > 0, "cached tokens on a repeated prompt: " + cached);
    }

    @Test
    void chatAnswersWithAnAssistantMessage() {
        ChatCompletion chat = openai.chat().completions().create(ChatCompletionCreateParams.builder().model(model())
                .addUserMessage("Tell me a story").maxCompletionTokens(10).temperature(0.0).build());
        assertFalse(chat.choices().get(0).message().content().orElseThrow().isEmpty());
        assertTrue(chat.id().startsWith("chatcmpl-"));
        assertEquals(10, chat.usage().orElseThrow().completionTokens());
    }

    @Test
    void chatStreamsDeltasAndUsage() {
        ChatCompletionCreateParams params = ChatCompletionCreateParams.builder().model(model())
                .addUserMessage("Tell me a story").maxCompletionTokens(16).temperature(0.0)
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build();
        StringBuilder text = new StringBuilder();
        long[] completionTokens = {-1};
        try (StreamResponse<ChatCompletionChunk> stream = openai.chat().completions().createStreaming(params)) {
            stream.stream().forEach(chunk -> {
                chunk.choices().forEach(c -> c.delta().content().ifPresent(text::append));
                chunk.usage().ifPresent(u -> completionTokens[0] = u.completionTokens());
            });
        }
        String whole = openai.chat().completions().create(params.toBuilder().streamOptions(
                ChatCompletionStreamOptions.builder().includeUsage(false).build()).build())
                .choices().get(0).message().content().orElseThrow();
        assertEquals(whole, text.toString());
        assertEquals(16, completionTokens[0]);
    }

    @Test
    void sdkSeesErrorsAsItsExceptions() {
        assertThrows(BadRequestException.class, () -> openai.completions().create(CompletionCreateParams.builder()
                .model(model()).prompt("Hi").topP(1.5).build()));
        assertThrows(NotFoundException.class, () -> openai.completions().create(CompletionCreateParams.builder()
                .model("gpt-4o").prompt("Hi").build()));
        OpenAIClient wrongKey = OpenAIOkHttpClient.builder().baseUrl(server.baseUrl() + "/v1").apiKey("nope")
                .maxRetries(0).build();
        try {
            assertThrows(UnauthorizedException.class, () -> wrongKey.completions().create(CompletionCreateParams
                    .builder().model(model()).prompt("Hi").build()));
        } finally {
            wrongKey.close();
        }
    }

    @Test
    void langChain4jChatsAndStreams() throws Exception {
        OpenAiChatModel chat = OpenAiChatModel.builder().baseUrl(server.baseUrl() + "/v1").apiKey(KEY)
                .modelName(model()).temperature(0.0).maxTokens(12).build();
        String prompt = "Once upon a time there was a girl who";
        ChatResponse first = chat.chat(dev.langchain4j.data.message.UserMessage.from(prompt));
        assertFalse(first.aiMessage().text().isEmpty());
        ChatResponse second = chat.chat(dev.langchain4j.data.message.UserMessage.from(prompt));
        assertEquals(first.aiMessage().text(), second.aiMessage().text());
        OpenAiTokenUsage usage = (OpenAiTokenUsage) second.tokenUsage();
        assertTrue(usage.inputTokensDetails().cachedTokens() > 0, "cached tokens: " + usage);

        OpenAiStreamingChatModel streaming = OpenAiStreamingChatModel.builder().baseUrl(server.baseUrl() + "/v1")
                .apiKey(KEY).modelName(model()).temperature(0.0).maxTokens(12).build();
        StringBuilder partial = new StringBuilder();
        CompletableFuture<ChatResponse> done = new CompletableFuture<>();
        streaming.chat(prompt, new StreamingChatResponseHandler() {
            @Override
            public void onPartialResponse(String token) {
                partial.append(token);
            }

            @Override
            public void onCompleteResponse(ChatResponse response) {
                done.complete(response);
            }

            @Override
            public void onError(Throwable error) {
                done.completeExceptionally(error);
            }
        });
        ChatResponse streamed = done.get(30, TimeUnit.SECONDS);
        assertEquals(first.aiMessage().text(), partial.toString());
        assertEquals(first.aiMessage().text(), streamed.aiMessage().text());
    }
}
