package dev.ultrakv.cli;

import dev.ultrakv.chat.ChatMessage;
import dev.ultrakv.chat.ChatTemplate;
import dev.ultrakv.chat.PlainChatFormat;
import dev.ultrakv.model.LlamaModel;
import dev.ultrakv.model.ModelLoader;
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
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code ultrakv template}: prints the prompt a chat template renders for a chat, exactly (no newline added), as
 * the server and {@code ultrakv chat} render it, but with {@code bos_token} as the BOS token's text (they leave it
 * to the tokenizer).
 */
@Command(name = "template", mixinStandardHelpOptions = true,
        description = "Print the prompt a chat template renders for a chat (exactly, no newline added).")
final class TemplateCommand implements Callable<Integer> {
    /** Largest template file read; real templates are a few KB (functionary v3.2's, among the longest, 13 KB). */
    static final long MAX_TEMPLATE_BYTES = 1L << 20;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    static final class Source {
        @Option(names = "--model", paramLabel = "PATH", description = "A GGUF model file: its own template.")
        Path model;

        @Option(names = "--template", paramLabel = "FILE.jinja", description = "A Jinja chat template file.")
        Path template;
    }

    @ArgGroup(exclusive = true, multiplicity = "1")
    Chat chat;

    static final class Chat {
        @Option(names = "--messages", paramLabel = "FILE.json",
                description = "The chat: a JSON array of {\"role\", \"content\"} objects, or an object with one"
                        + " as 'messages'.")
        Path messages;

        @ArgGroup(exclusive = false)
        Turn turn;
    }

    static final class Turn {
        @Option(names = "--system", paramLabel = "TEXT", description = "A system message first.")
        String system;

        @Option(names = "--user", paramLabel = "TEXT", required = true, description = "The user's message.")
        String user;
    }

    @Option(names = "--no-generation-prompt", description = "Do not open the assistant's reply at the end.")
    boolean noGenerationPrompt;

    @Option(names = "--bos", paramLabel = "TEXT",
            description = "What bos_token renders as (default: the model's BOS text; empty with --template).")
    String bos;

    @Option(names = "--eos", paramLabel = "TEXT",
            description = "What eos_token renders as (default: the model's EOS text; empty with --template).")
    String eos;

    @Option(names = "--date", paramLabel = "YYYY-MM-DD",
            description = "The date the template's strftime_now gives (default: today, UTC).")
    LocalDate date;

    @Override
    public Integer call() {
        List<ChatMessage> messages = messages();
        ChatTemplate format = format();
        String prompt = format.render(messages, !noGenerationPrompt);
        PrintStream out = new PrintStream(System.out, false, StandardCharsets.UTF_8);
        out.print(prompt);
        out.flush();
        return 0;
    }

    private ChatTemplate format() {
        Clock clock = date == null ? Clock.systemUTC()
                : Clock.fixed(date.atStartOfDay(ZoneOffset.UTC).toInstant(), ZoneOffset.UTC);
        if (source.template != null) {
            return new ChatTemplate(readTemplate(source.template), orEmpty(bos), orEmpty(eos), clock);
        }
        try (LlamaModel model = ModelLoader.load(source.model, null)) {
            String template = model.chatTemplate().orElseThrow(() -> new IllegalArgumentException("model "
                    + model.name() + " has no chat template (GGUF tokenizer.chat_template); chats with it use the"
                    + " plain format: " + PlainChatFormat.DESCRIPTION));
            return new ChatTemplate(template, bos != null ? bos : bosOf(model), eos != null ? eos : eosOf(model),
                    clock);
        }
    }

    private static String bosOf(LlamaModel model) {
        return model.tokenizer().piece(model.tokenizer().bosId());
    }

    private static String eosOf(LlamaModel model) {
        return model.tokenizer().piece(model.tokenizer().eosId());
    }

    private List<ChatMessage> messages() {
        if (chat.messages != null) {
            return ChatMessagesFile.read(chat.messages);
        }
        List<ChatMessage> messages = new ArrayList<>(2);
        if (chat.turn.system != null) {
            messages.add(new ChatMessage("system", chat.turn.system));
        }
        messages.add(new ChatMessage("user", chat.turn.user));
        return messages;
    }

    private static String orEmpty(String text) {
        return text == null ? "" : text;
    }

    private static String readTemplate(Path file) {
        try {
            if (!Files.isRegularFile(file)) {
                throw new IllegalArgumentException("--template " + file + ": no such file");
            }
            long size = Files.size(file);
            if (size > MAX_TEMPLATE_BYTES) {
                throw new IllegalArgumentException("--template " + file + " holds " + size + " bytes; a chat"
                        + " template is read up to " + MAX_TEMPLATE_BYTES);
            }
            return Files.readString(file, StandardCharsets.UTF_8);
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("--template " + file + " is not valid UTF-8", e);
        } catch (IOException e) {
            throw new UncheckedIOException("--template " + file + ": cannot be read: " + e.getMessage(), e);
        }
    }
}
