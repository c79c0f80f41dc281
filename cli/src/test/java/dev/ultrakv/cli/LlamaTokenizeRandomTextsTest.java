package dev.ultrakv.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.ultrakv.model.ModelLoader;
import dev.ultrakv.tokenizer.Tokenizer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ultrakv tokenize}'s tokens equal llama.cpp's llama-tokenize on 80 seeded random texts full of the five
 * vocabularies' special-token texts, with and without special-token parsing, BOS as each model asks (resource
 * vocab/llama-tokenize-random.txt; its header gives the command that made it).
 */
class LlamaTokenizeRandomTextsTest {

    @Test
    void everyVocabulary_givesLlamaTokenizesIds(@TempDir Path dir) throws Exception {
        Map<String, Tokenizer> tokenizers = new HashMap<>();
        String text = null;
        int checked = 0;
        for (String line : read("vocab/llama-tokenize-random.txt").split("\n")) {
            if (line.startsWith("#") || line.isEmpty()) {
                continue;
            }
            String[] fields = line.split(" ", 3);
            if (fields[0].equals("text")) {
                text = unescape(fields[1]);
                continue;
            }
            Tokenizer tok = tokenizers.computeIfAbsent(fields[0], name -> load(name, dir));
            boolean parse = fields[1].equals("parse");
            int[] expected = fields.length < 3 || fields[2].isBlank() ? new int[0]
                    : Arrays.stream(fields[2].strip().split(" ")).mapToInt(Integer::parseInt).toArray();
            String t = text;
            assertEquals(Arrays.toString(expected), Arrays.toString(TokenizeCommand.tokenize(tok, t, false, parse)),
                    () -> fields[0] + " " + fields[1] + " \"" + TokenizeCommand.escapeControls(t) + "\"");
            checked++;
        }
        assertTrue(checked >= 800, "cases: " + checked);
    }

    private static Tokenizer load(String name, Path dir) {
        try {
            return ModelLoader.loadTokenizer(TokenizeCommandTest.vocabulary(name, dir), null);
        } catch (IOException | java.net.URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String unescape(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        for (int i = 0; i < s.length(); i++) {
            if (s.charAt(i) == '\\' && i + 1 < s.length() && s.charAt(i + 1) == 'u') {
                sb.append((char) Integer.parseInt(s.substring(i + 2, i + 6), 16));
                i += 5;
            } else {
                sb.append(s.charAt(i));
            }
        }
        return sb.toString();
    }

    private static String read(String name) throws IOException {
        try (InputStream in = LlamaTokenizeRandomTextsTest.class.getClassLoader().getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
