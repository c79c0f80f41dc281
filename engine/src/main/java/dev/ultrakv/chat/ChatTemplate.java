package dev.ultrakv.chat;

import com.hubspot.jinjava.Jinjava;
import com.hubspot.jinjava.JinjavaConfig;
import com.hubspot.jinjava.el.JinjavaInterpreterResolver;
import com.hubspot.jinjava.interpret.InterpretException;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.interpret.RenderResult;
import com.hubspot.jinjava.interpret.TemplateError;
import com.hubspot.jinjava.lib.fn.ELFunctionDefinition;
import java.time.Clock;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import jinjava.javax.el.CompositeELResolver;

/**
 * A model's Jinja chat template (GGUF {@code tokenizer.chat_template}), rendered as Hugging Face renders it with
 * Python's jinja2.
 *
 * <h2>How it matches jinja2</h2>
 * Jinjava, with these extensions where it differs from jinja2 on the templates models ship:
 * <ul>
 *   <li>whitespace: jinja2's {@code trim_blocks}, {@code lstrip_blocks} and {@code -}/{@code +} modifiers are
 *       applied to the source first ({@link WhitespaceControl}), Jinjava's own whitespace options off;</li>
 *   <li>Python's string methods and string indexing ({@link PythonStringResolver}), jinja2's {@code items}
 *       filter ({@link DictItemsFilter}) and Hugging Face's {@code tojson} ({@link PythonToJsonFilter});</li>
 *   <li>{@code raise_exception(message)}, the template's refusal of a chat, and {@code strftime_now(format)};</li>
 *   <li>the variables Hugging Face passes: {@code messages}, {@code add_generation_prompt}, {@code bos_token},
 *       {@code eos_token} and {@code tools}, which is None (no tools are offered);</li>
 *   <li>a {@code for} loop over None fails as in Python ({@link PythonForTag}, which also gives loops jinja2's
 *       filters and else branches): the tool-use templates iterate {@code tools} unguarded, so jinja2 refuses
 *       them without tools, where Jinjava would loop zero times and render a prompt that offers no tools.</li>
 * </ul>
 * What still differs is listed in the package's documentation ({@code package-info.java}).
 *
 * The engine puts the beginning-of-sequence token before every prompt itself, so callers that tokenize the render
 * pass an empty {@code bosToken}.
 */
public final class ChatTemplate implements ChatFormat {
    /** Where the render's time waits for {@link #strftimeNow} in the template's context. */
    private static final String NOW = "__ultrakv_now";

    /** The variables Hugging Face passes as None: no tools are offered. */
    private static final Set<String> NONE_NAMES = Set.of("tools");

    private final String template;
    private final String bosToken;
    private final String eosToken;
    private final Jinjava jinjava;
    private final Clock clock;

    /**
     * A renderer for {@code template}.
     *
     * @param bosToken what the template's {@code bos_token} renders as
     * @param eosToken what the template's {@code eos_token} renders as
     */
    public ChatTemplate(String template, String bosToken, String eosToken) {
        this(template, bosToken, eosToken, Clock.systemUTC());
    }

    /** A renderer whose {@code strftime_now} reads {@code clock} (tests fix the date). */
    public ChatTemplate(String template, String bosToken, String eosToken, Clock clock) {
        this.template = WhitespaceControl.apply(Objects.requireNonNull(template, "template"));
        this.bosToken = Objects.requireNonNull(bosToken, "bosToken");
        this.eosToken = Objects.requireNonNull(eosToken, "eosToken");
        this.clock = Objects.requireNonNull(clock, "clock");
        JinjavaConfig config = JinjavaConfig.newBuilder().withTrimBlocks(false).withLstripBlocks(false)
                .withFailOnUnknownTokens(false).withElResolver(new CompositeELResolver() {
                    {
                        add(new PythonStringResolver());
                        add(JinjavaInterpreterResolver.DEFAULT_RESOLVER_READ_ONLY);
                    }
                }).build();
        this.jinjava = new Jinjava(config);
        jinjava.getGlobalContext().registerTag(new PythonForTag());
        jinjava.getGlobalContext().registerFilter(new DictItemsFilter());
        jinjava.getGlobalContext().registerFilter(new PythonToJsonFilter());
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "raise_exception",
                ChatTemplate.class, "raiseException", String.class));
        jinjava.getGlobalContext().registerFunction(new ELFunctionDefinition("", "strftime_now",
                ChatTemplate.class, "strftimeNow", String.class));
    }

    @Override
    public String render(List<ChatMessage> messages, boolean addGenerationPrompt) {
        List<Map<String, Object>> list = new ArrayList<>(messages.size());
        for (ChatMessage m : messages) {
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
        context.put(PythonForTag.NONE_NAMES, NONE_NAMES);
        context.put(NOW, LocalDateTime.ofInstant(clock.instant(), ZoneOffset.UTC));
        RenderResult result = jinjava.renderForResult(template, context);
        for (TemplateError error : result.getErrors()) {
            if (error.getSeverity() == TemplateError.ErrorType.FATAL) {
                throw failure(error);
            }
        }
        return result.getOutput();
    }

    @Override
    public String description() {
        return "the model's own chat template (GGUF tokenizer.chat_template)";
    }

    /**
     * The failure a user reads. Jinjava's line numbers are left out: they count the lines of the template after
     * {@link WhitespaceControl}, which removes lines, not those of the model's template.
     */
    private static ChatTemplateException failure(TemplateError error) {
        for (Throwable cause = error.getException(); cause != null; cause = cause.getCause()) {
            if (cause instanceof TemplateRefusal refusal) {
                return new ChatTemplateException("the chat template refuses this chat: " + refusal.getMessage());
            }
            if (cause instanceof ChatTemplateException failure) {
                return failure;
            }
        }
        String reason = error.getException() instanceof InterpretException e ? e.getMessage() : error.getMessage();
        return new ChatTemplateException("the chat template cannot render this chat: " + reason);
    }

    /** The templates' {@code raise_exception(message)}: the template refuses the chat. */
    public static String raiseException(String message) {
        throw new TemplateRefusal(message);
    }

    /** The templates' {@code strftime_now(format)}: the render's time (UTC) in Python's strftime format. */
    public static String strftimeNow(String format) {
        JinjavaInterpreter interpreter = JinjavaInterpreter.getCurrent();
        Object now = interpreter == null ? null : interpreter.getContext().get(NOW);
        return PythonStrftime.format(format, now instanceof LocalDateTime t ? t : LocalDateTime.now(ZoneOffset.UTC));
    }

    /** A template's refusal of a chat (its {@code raise_exception}). */
    static final class TemplateRefusal extends RuntimeException {
        private static final long serialVersionUID = 1L;

        TemplateRefusal(String message) {
            super(message, null, false, false);
        }
    }
}
