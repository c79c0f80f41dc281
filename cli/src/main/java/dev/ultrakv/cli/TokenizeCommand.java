package dev.ultrakv.cli;

import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.ModelLoader;
import dev.ultrakv.tokenizer.TokenType;
import dev.ultrakv.tokenizer.Tokenizer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.Callable;
import java.util.stream.Collectors;

/**
 * {@code ultrakv tokenize}: the token ids (and pieces) a model's tokenizer gives a text, as llama.cpp's
 * {@code llama-tokenize} prints them. Reads only the tokenizer: a vocabulary-only GGUF file works too.
 */
@Command(name = "tokenize", mixinStandardHelpOptions = true,
        description = "Print the tokens a model's tokenizer gives a text (like llama-tokenize).")
final class TokenizeCommand implements Callable<Integer> {
    /** Largest text file read: a tokenizer's input, not a corpus; the limit keeps a wrong path from filling memory. */
    static final long MAX_FILE_BYTES = 64L << 20;

    @Option(names = "--model", paramLabel = "PATH",
            description = "A GGUF file (a model or a vocabulary-only file) or a llama2.c checkpoint"
                    + " (default: the embedded stories260K).")
    Path model;

    @Option(names = "--tokenizer", paramLabel = "PATH",
            description = "The tokenizer.bin of a llama2.c checkpoint (default: tokenizer.bin beside it).")
    Path tokenizer;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Input input;

    static final class Input {
        @Option(names = "--text", paramLabel = "TEXT", description = "The text to tokenize.")
        String text;

        @Option(names = "--file", paramLabel = "PATH", description = "A UTF-8 file whose whole content is tokenized.")
        Path file;
    }

    @Option(names = "--ids", description = "Print only the ids, as one list: [1, 2, 3].")
    boolean idsOnly;

    @Option(names = "--no-bos", description = "Do not put the beginning-of-sequence token first, even where the"
            + " model asks for it.")
    boolean noBos;

    @Option(names = "--no-parse-special", description = "Read the text of control tokens (such as <|im_start|>)"
            + " as plain text rather than as those tokens.")
    boolean noParseSpecial;

    @Override
    public Integer call() {
        Tokenizer tok;
        if (model == null) {
            try (LlamaModel embedded = ModelLoader.loadEmbedded()) {
                tok = embedded.tokenizer();
            }
        } else {
            tok = ModelLoader.loadTokenizer(model, tokenizer);
        }
        print(tok, tokenize(tok, text(), noBos, !noParseSpecial), idsOnly, System.out);
        return 0;
    }

    /**
     * The tokens llama-tokenize gives: BOS first where the model asks for it ({@link Tokenizer#addsBos()}) unless
     * {@code noBos}, and then also EOS last where the model asks for that (llama.cpp adds both or neither).
     */
    static int[] tokenize(Tokenizer tok, String text, boolean noBos, boolean parseSpecial) {
        boolean addSpecial = tok.addsBos() && !noBos;
        int[] ids = tok.encode(text, addSpecial, parseSpecial);
        if (addSpecial && tok.addsEos()) {
            ids = Arrays.copyOf(ids, ids.length + 1);
            ids[ids.length - 1] = tok.eosId();
        }
        return ids;
    }

    private String text() {
        if (input.text != null) {
            return input.text;
        }
        Path file = input.file;
        try {
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException("--file " + file + ": no such file");
            }
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES) {
                throw new IllegalArgumentException("--file " + file + " holds " + size + " bytes; tokenize reads at"
                        + " most " + MAX_FILE_BYTES);
            }
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("--file " + file + " is not valid UTF-8", e);
        } catch (IOException e) {
            throw new UncheckedIOException("--file " + file + ": cannot be read: " + e.getMessage(), e);
        }
    }

    /**
     * Prints {@code ids} as llama-tokenize does: one {@code id -> 'piece'} line per token, the piece being the text
     * the token stands for after its predecessor (or its vocabulary entry, for control tokens such as BOS, as
     * llama-tokenize prints them), with control characters escaped so that each token keeps to one line; or, with
     * {@code idsOnly}, one list.
     */
    static void print(Tokenizer tok, int[] ids, boolean idsOnly, PrintStream out) {
        if (idsOnly) {
            out.println(Arrays.stream(ids).mapToObj(Integer::toString).collect(Collectors.joining(", ", "[", "]")));
            return;
        }
        int previous = -1;
        for (int id : ids) {
            byte[] bytes = previous < 0 ? tok.decodeBytes(tok.bosId(), id) : tok.decodeBytes(previous, id);
            boolean showEntry = bytes.length == 0 || tok.tokenType(id) == TokenType.CONTROL;
            String piece = showEntry ? tok.piece(id) : new String(bytes, StandardCharsets.UTF_8);
            out.printf(Locale.ROOT, "%6d -> '%s'%n", id, escapeControls(piece));
            previous = id;
        }
    }

    /**
     * A piece with newlines, carriage returns and tabs written as backslash escapes and other control characters
     * as a backslash, {@code u} and four hex digits.
     */
    static String escapeControls(String piece) {
        StringBuilder sb = new StringBuilder(piece.length());
        for (int i = 0; i < piece.length(); i++) {
            char c = piece.charAt(i);
            switch (c) {
                case '\n' -> sb.append("\\n");
                case '\r' -> sb.append("\\r");
                case '\t' -> sb.append("\\t");
                default -> {
                    if (Character.isISOControl(c)) {
                        sb.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        sb.append(c);
                    }
                }
            }
        }
        return sb.toString();
    }
}
