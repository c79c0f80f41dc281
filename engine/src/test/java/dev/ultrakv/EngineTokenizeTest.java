package dev.ultrakv;

import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.ModelLoader;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** What a server asks of the engine besides requests: the model, and its tokenizer both ways. */
class EngineTokenizeTest {

    @Test
    void textTokenizedWithBosComesBackWholeIncludingCharactersSplitOverByteTokens() {
        try (var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().build())) {
            for (String text : new String[] {"Once upon a time", " leading space", "naïve café ☕ 猫", "a\nb"}) {
                int[] tokens = engine.tokenize(text, true);
                assertEquals(1, tokens[0], "BOS first");
                assertEquals(text, engine.detokenize(tokens), text);
            }
            assertEquals(engine.tokenize("The sun", true).length - 1, engine.tokenize("The sun", false).length);
        }
    }

    @Test
    void aPromptReadsSpecialTokenTextsAsTokensWherePlainTextSpellsThemOut() throws Exception {
        String eos;
        try (LlamaModel model = ModelLoader.loadEmbedded()) {
            eos = model.tokenizer().piece(model.tokenizer().eosId()); // llama2.c's tokenizer.bin: "\n</s>\n"
        }
        try (var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().build())) {
            int[] prompt = engine.tokenizePrompt("Hi" + eos);
            int[] hi = engine.tokenize("Hi", true);
            assertEquals(hi.length + 1, prompt.length, "BOS, Hi, then the one EOS token");
            assertEquals(2, prompt[prompt.length - 1]);
            int[] plain = engine.tokenize("Hi" + eos, true);
            assertTrue(Arrays.stream(plain).noneMatch(t -> t == 2), "plain text spells the EOS text out");
            // A request's prompt text is tokenized as tokenizePrompt does.
            RequestResult r = engine.processRequest(Request.builder().text("Hi" + eos).maxNewTokens(1).build())
                    .get();
            assertEquals(prompt.length, r.promptTokens());
        }
    }

    @Test
    void tokenIdsOutsideTheVocabularyAreRefusedByPosition() {
        try (var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().build())) {
            var e = assertThrows(IllegalArgumentException.class, () -> engine.detokenize(new int[] {1, 512}));
            assertEquals("token 1 is 512, outside the vocabulary of 512 tokens", e.getMessage());
        }
    }

    @Test
    void theEmbeddedModelIsListedWithItsContextAndNoChatTemplate() {
        try (var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().build())) {
            ModelInfo info = engine.modelInfo();
            assertEquals("embedded:stories260K", info.id());
            assertEquals("stories260K", info.name());
            assertEquals(512, info.contextLength());
            assertEquals(512, info.vocabularySize());
            assertNull(info.chatTemplate());
            assertTrue(info.template().isEmpty());
        }
    }

    @Test
    void aClosedEngineNoLongerTokenizes() {
        var engine = new UltraAdaptiveKVCacheEngine(KVCacheConfig.builder().build());
        engine.close();
        assertThrows(IllegalStateException.class, () -> engine.tokenize("x", true));
    }
}
