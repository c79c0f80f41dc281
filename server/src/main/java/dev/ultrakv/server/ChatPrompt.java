package dev.ultrakv.server;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.time.Clock;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;

/**
 * Turns a chat's messages into the prompt text the model continues: through the model's own Jinja chat
 * template (GGUF {@code tokenizer.chat_template}) when it carries one, else through a plain format.
 *
 * <p>The plain format ({@link #PLAIN_FORMAT}) writes each message as {@code "<role>: <content>\n"} and, when a
 * reply is wanted, ends with {@code "assistant:"}. The embedded stories260K model has no template and was never
 * trained on chats: it continues the text as a story.
 *
 * <h2>Templates</h2>
 * Rendered with Jinjava configured as Hugging Face renders them with Python's jinja2: {@code trim_blocks} and
 * {@code lstrip_blocks}, a {@code raise_exception(message)} that refuses the chat (a 400 naming
 * {@code messages}) and {@code strftime_now(format)}. The engine puts the beginning-of-sequence token before
 * every prompt itself, so the server renders {@code bos_token} as the empty string.
 */
public final class ChatPrompt {
    /** How a chat is written for a model without a template (also said in {@code /v1/models}). */
    public static final String PLAIN_FORMAT = "each message as '<role>: <content>\\n', then 'assistant:'";

    /** Where the render's date waits for {@link #strftimeNow} in the template's context. */
    private static final String TODAY = "__ultrakv_today";

    private final String template;
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava;
    private final Clock clock;

    /** One message of a chat. */
    public record Message(String role, String content) {
        /** A message; neither part may be null. */
        public Message {
            Objects.requireNonNull(role, "role");
            Objects.requireNonNull(content, "content");
        }
    }

    /**
     * A renderer for {@code template}, or for the plain format when it is null.
     *
     * @param bosToken what the template's {@code bos_token} renders as
     * @param eosToken what the template's {@code eos_token} renders as
     */
    public ChatPrompt(String template, String bosToken, String eosToken) {
        this(template, bosToken, eosToken, Clock.systemUTC());
    }

    /** A renderer whose {@code strftime_now} reads {@code clock} (tests fix the date). */
    ChatPrompt(String template, String bosToken, String eosToken, Clock clock) {
        this.clock = Objects.requireNonNull(clock, "clock");
        this.template = template == null ? null : expressionWhitespaceControl(template);
        this.bosToken = bosToken;
        this.eosToken = eosToken;
        if (template == null) {
            this.jinjava = null;
            return;
        }
        JinjavaConfig config = JinjavaConfig.newBuilder().withTrimBlocks(true).withLstripBlocks(true)
                .withFailOnUnknownTokens(false).build();
        this.jinjava = new Jinjava(config);
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                ChatPrompt.class, "raiseException", String.class));
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now",
                ChatPrompt.class, "strftimeNow", String.class));
    }

    /**
     * Applies jinja2's whitespace control of expressions and comments ({@code {{- x }}} strips the whitespace
     * before it, {@code {{ x -}}} the whitespace after it; {@code {#- … -#}} likewise), which Jinjava leaves to
     * statements: Qwen's, Mistral's and Llama 3's templates indent their expressions and rely on it.
     */
    static String expressionWhitespaceControl(String template) {
        return template.replaceAll("\\s*\\{\\{-", "{{").replaceAll("-}}\\s*", "}}")
                .replaceAll("\\s*\\{#-", "{#").replaceAll("-#}\\s*", "#}");
    }

    /** Whether the model's own template is used (else the plain format). */
    public boolean templated() {
        return template != null;
    }

    /**
     * The prompt for {@code messages}.
     *
     * @param addGenerationPrompt whether to open the assistant's reply at the end
     * @throws ApiError a 400 naming {@code messages} when the template refuses the chat or cannot render it
     */
    public String render(List<Message> messages, boolean addGenerationPrompt) {
        if (template == null) {
            StringBuilder prompt = new StringBuilder();
            for (Message m : messages) {
                prompt.append(m.role()).append(": ").append(m.content()).append('\n');
            }
            if (addGenerationPrompt) {
                prompt.append("assistant:");
            }
            return prompt.toString();
        }
        List<Map<String, Object>> list = new ArrayList<>(messages.size());
        for (Message m : messages) {
            Map<String, Object> entry = new LinkedHashMap<>();
            entry.put("role", m.role());
            entry.put("content", m.content());
            list.add(entry);
        }
        Map<String, Object> context = new HashMap<>();
        context.put("messages", list);
        context.put("add_generation_prompt", addGenerationPrompt);
        context.put("bos_token", bosToken);
        context.put("eos_token", eosToken);
        context.put(TODAY, LocalDate.ofInstant(clock.instant(), ZoneOffset.UTC));
        RenderResult result = jinjava.renderForResult(template, context);
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw ApiError.invalid("messages", "the model's chat template cannot render these messages: "
                        + refusal(error));
            }
        }
        return result.getOutput();
    }

    private static String refusal(TemplateError error) {
        Throwable cause = error.getException();
        while (cause != null) {
            if (cause instanceof TemplateRefusal refusal) {
                return refusal.getMessage();
            }
            cause = cause.getCause();
        }
        return error.getMessage();
    }

    /** The templates' {@code raise_exception(message)}: the template refuses the chat. */
    public static String raiseException(String message) {
        throw new TemplateRefusal(message);
    }

    /** The templates' {@code strftime_now(format)}: today's date in Python's strftime format (common fields). */
    public static String strftimeNow(String format) {
        String pattern = format.replace("%d", "dd").replace("%b", "MMM").replace("%B", "MMMM")
                .replace("%Y", "yyyy").replace("%m", "MM").replace("%y", "yy");
        JinjavaInterpreter interpreter = JinjavaInterpreter.getCurrent();
        Object today = interpreter == null ? null : interpreter.getContext().get(TODAY);
        LocalDate date = today instanceof LocalDate d ? d : LocalDate.now(ZoneOffset.UTC);
        return date.format(DateTimeFormatter.ofPattern(pattern, Locale.ROOT));
    }

    /** A template's refusal of a chat (its {@code raise_exception}). */
    static final class TemplateRefusal extends RuntimeException {
        private static final long serialVersionUID = 1L;

        TemplateRefusal(String message) {
            super(message, null, false, false);
        }
    }
}
