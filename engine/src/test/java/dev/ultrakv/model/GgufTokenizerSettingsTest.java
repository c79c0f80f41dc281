package dev.ultrakv.model;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ultrakv.model.gguf.GgufValue;
import dev.ultrakv.model.gguf.GgufWriter;
import dev.ultrakv.tokenizer.Gpt2BpeTokenizer;
import dev.ultrakv.tokenizer.PreTokenizer;
import dev.ultrakv.tokenizer.Tokenizer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.SequencedMap;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The tokenizer settings a GGUF file gives, and the ones it may leave out, as llama.cpp reads them; and the
 * vocabularies it refuses, naming the key and the value.
 */
class GgufTokenizerSettingsTest {

    private static final int NORMAL = 1;
    private static final int CONTROL = 3;
    private static final String IM_START = "<|im_start|>";

    @TempDir
    Path dir;

    /** A byte-level vocabulary: the 256 GPT-2 stand-ins, "Ġt", then {@code <|im_start|>} (control). */
    private static SequencedMap<String, GgufValue> bpeVocabulary() {
        List<String> tokens = new ArrayList<>();
        int next = 256;
        for (int b = 0; b < 256; b++) {
            boolean printable = (b >= 0x21 && b <= 0x7E) || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
            tokens.add(String.valueOf((char) (printable ? b : next++)));
        }
        tokens.add("Ġt");
        tokens.add(IM_START);
        int[] types = new int[tokens.size()];
        java.util.Arrays.fill(types, NORMAL);
        types[types.length - 1] = CONTROL;
        SequencedMap<String, GgufValue> m = new LinkedHashMap<>();
        m.put("general.architecture", GgufValue.string("gpt2"));
        m.put("tokenizer.ggml.model", GgufValue.string("gpt2"));
        m.put("tokenizer.ggml.tokens", GgufValue.stringArray(tokens));
        m.put("tokenizer.ggml.token_type", GgufValue.int32Array(types));
        m.put("tokenizer.ggml.merges", GgufValue.stringArray(List.of("Ġ t")));
        m.put("tokenizer.ggml.bos_token_id", GgufValue.uint32(tokens.size() - 1));
        m.put("tokenizer.ggml.eos_token_id", GgufValue.uint32(tokens.size() - 1));
        return m;
    }

    private Tokenizer load(Consumer<SequencedMap<String, GgufValue>> change) throws IOException {
        SequencedMap<String, GgufValue> m = bpeVocabulary();
        change.accept(m);
        Path file = dir.resolve("vocab.gguf");
        GgufWriter.write(file, m, List.of(), (t, out) -> { });
        return GgufModelLoader.loadTokenizer(file);
    }

    @Test
    void missingPreTokenizer_meansDefault_andBpeAddsNoBosByDefault() throws IOException {
        Tokenizer tok = load(m -> { });
        assertEquals(PreTokenizer.DEFAULT, ((Gpt2BpeTokenizer) tok).preTokenizer());
        assertFalse(tok.addsBos());
        assertFalse(tok.addsEos());
    }

    @Test
    void llamaBpe_addsBosByDefault_unlessTheFileSaysNo() throws IOException {
        Tokenizer llama3 = load(m -> m.put("tokenizer.ggml.pre", GgufValue.string("llama-bpe")));
        assertEquals(PreTokenizer.LLAMA3, ((Gpt2BpeTokenizer) llama3).preTokenizer());
        assertTrue(llama3.addsBos());
        Tokenizer told = load(m -> {
            m.put("tokenizer.ggml.pre", GgufValue.string("llama-bpe"));
            m.put("tokenizer.ggml.add_bos_token", GgufValue.bool(false));
            m.put("tokenizer.ggml.add_eos_token", GgufValue.bool(true));
        });
        assertFalse(told.addsBos());
        assertTrue(told.addsEos());
    }

    @Test
    void controlTokenText_isThatTokenOnlyWithSpecialParsing() throws IOException {
        Tokenizer tok = load(m -> m.put("tokenizer.ggml.pre", GgufValue.string("qwen2")));
        int imStart = tok.vocabularySize() - 1;
        int[] parsed = tok.encode(IM_START + " t", false, true);
        assertArrayEquals(new int[] {imStart, imStart - 1}, parsed);
        int[] plain = tok.encode(IM_START + " t", false);
        assertEquals(IM_START.length() + 1, plain.length, "one byte token per character, then \"Ġt\"");
    }

    @Test
    void unknownPreTokenizer_isRefusedNamingItAndTheKnownOnes() {
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> load(m -> m.put("tokenizer.ggml.pre", GgufValue.string("gpt-4o"))));
        assertTrue(e.getMessage().contains("tokenizer.ggml.pre = 'gpt-4o'") && e.getMessage().contains("llama-bpe"),
                e.getMessage());
        assertTrue(e.getMessage().contains("vocab.gguf"), e.getMessage());
    }

    @Test
    void specialTokenIdOutsideTheVocabulary_isRefusedNamingKeyAndValue() {
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> load(m -> m.put("tokenizer.ggml.eos_token_id", GgufValue.uint32(9999))));
        assertTrue(e.getMessage().contains("tokenizer.ggml.eos_token_id = 9999"), e.getMessage());
    }

    @Test
    void mergeOfPiecesThatAreNoTokens_isRefusedNamingTheMerge() {
        ModelFormatException e = assertThrows(ModelFormatException.class,
                () -> load(m -> m.put("tokenizer.ggml.merges", GgufValue.stringArray(List.of("Ġ t", "t x")))));
        assertTrue(e.getMessage().contains("tokenizer.ggml.merges[1] = \"t x\"")
                && e.getMessage().contains("\"tx\""), e.getMessage());
    }
}
