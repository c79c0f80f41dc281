package dev.ultrakv.chat;

/**
 * Applies jinja2's whitespace rules to a template's source, as Hugging Face configures them, so that Jinjava
 * (run with its own whitespace options off) renders the text jinja2 would:
 * <ul>
 *   <li>{@code trim_blocks}: the first newline after a block tag or a comment is removed;</li>
 *   <li>{@code lstrip_blocks}: spaces and tabs from the start of a line up to a block tag or a comment are
 *       removed, when the tag is the first thing on its line;</li>
 *   <li>a {@code -} just inside a tag's delimiter removes all whitespace, newlines included, before (opening
 *       delimiter) or after (closing delimiter) the tag, expressions and comments too; a {@code +} there turns
 *       {@code lstrip_blocks} or {@code trim_blocks} off for that block tag;</li>
 *   <li>comments are dropped, and one newline at the end of the template (jinja2's
 *       {@code keep_trailing_newline=False}).</li>
 * </ul>
 * Jinjava differs on each: it applies {@code -} to statements only, its {@code lstrip_blocks} strips the
 * whitespace before any block tag, first on its line or not ({@code {{ x }} {% endfor %}} loses its space), and
 * it strips the spaces around comments.
 *
 * <p>Tags are found as jinja2's lexer finds them: a delimiter inside a string literal or inside brackets of the
 * expression ({@code {{ {'a': {}} }}}) does not end a tag; {@code {% raw %}} blocks are copied as they are.
 */
final class WhitespaceControl {
    private final String source;
    private final StringBuilder out;
    /** What the previous tag does to the text after it. */
    private boolean stripNext;
    private boolean trimNext;

    private WhitespaceControl(String source) {
        this.source = source;
        this.out = new StringBuilder(source.length());
    }

    /** {@code template} with jinja2's whitespace rules applied and no whitespace modifiers or comments left. */
    static String apply(String template) {
        WhitespaceControl w = new WhitespaceControl(template);
        w.run();
        return w.out.toString();
    }

    private void run() {
        String src = source.endsWith("\n") ? source.substring(0, source.length() - 1) : source;
        int i = 0;
        while (i < src.length()) {
            int start = nextTag(src, i);
            if (start < 0) {
                text(src.substring(i), i == 0, false, false);
                return;
            }
            char kind = src.charAt(start + 1);
            char open = start + 2 < src.length() ? src.charAt(start + 2) : ' ';
            boolean block = kind != '{';
            text(src.substring(i, start), i == 0, open == '-', block && open != '+');
            int end = tagEnd(src, start, kind);
            int bodyStart = start + 2 + (open == '-' || open == '+' ? 1 : 0);
            char close = src.charAt(end - 3);
            int bodyEnd = end - 2 - (close == '-' || close == '+' ? 1 : 0);
            if (bodyEnd < bodyStart) {
                bodyEnd = bodyStart;
            }
            String body = src.substring(bodyStart, bodyEnd);
            stripNext = close == '-';
            trimNext = block && close != '-' && close != '+';
            if (kind == '#') {
                i = end;
                continue;
            }
            out.append('{').append(kind).append(body).append(kind == '{' ? '}' : '%').append('}');
            i = end;
            if (kind == '%' && body.strip().equals("raw")) {
                i = copyRaw(src, i);
            }
        }
    }

    /**
     * Appends the text between two tags: first what the previous tag does to its start, then what the next tag
     * does to its end.
     *
     * @param atStart      whether the text starts the template (its first line starts a line)
     * @param stripBefore  whether the next tag strips all whitespace before it ({@code -})
     * @param lstripBefore whether the next tag is a block or comment with {@code lstrip_blocks} on
     */
    private void text(String text, boolean atStart, boolean stripBefore, boolean lstripBefore) {
        int from = 0;
        int to = text.length();
        if (stripNext) {
            while (from < to && Character.isWhitespace(text.charAt(from))) {
                from++;
            }
        } else if (trimNext) {
            if (text.startsWith("\r\n")) {
                from = 2;
            } else if (text.startsWith("\n")) {
                from = 1;
            }
        }
        if (stripBefore) {
            while (to > from && Character.isWhitespace(text.charAt(to - 1))) {
                to--;
            }
        } else if (lstripBefore) {
            int lineStart = text.lastIndexOf('\n') + 1;
            if (lineStart > 0 || atStart) {
                int k = to;
                while (k > lineStart && (text.charAt(k - 1) == ' ' || text.charAt(k - 1) == '\t')) {
                    k--;
                }
                if (k == lineStart) {
                    to = Math.max(from, k);
                }
            }
        }
        out.append(text, from, Math.max(from, to));
        stripNext = false;
        trimNext = false;
    }

    /** Where the next tag (an expression, a block tag or a comment) starts at or after {@code from}, or -1. */
    private static int nextTag(String src, int from) {
        for (int i = src.indexOf('{', from); i >= 0 && i + 1 < src.length(); i = src.indexOf('{', i + 1)) {
            char c = src.charAt(i + 1);
            if (c == '{' || c == '%' || c == '#') {
                return i;
            }
        }
        return -1;
    }

    /** The index just past the end delimiter of the tag at {@code start}. */
    private static int tagEnd(String src, int start, char kind) {
        if (kind == '#') {
            int end = src.indexOf("#}", start + 2);
            if (end < 0) {
                throw new ChatTemplateException("the chat template has a comment that is never closed: "
                        + excerpt(src, start));
            }
            return end + 2;
        }
        char closing = kind == '{' ? '}' : '%';
        int depth = 0;
        int i = start + 2;
        while (i < src.length()) {
            char c = src.charAt(i);
            if (c == '\'' || c == '"') {
                i = stringEnd(src, i);
                continue;
            }
            if (depth == 0 && c == closing && i + 1 < src.length() && src.charAt(i + 1) == '}') {
                return i + 2;
            }
            if (c == '{' || c == '(' || c == '[') {
                depth++;
            } else if ((c == '}' || c == ')' || c == ']') && depth > 0) {
                depth--;
            }
            i++;
        }
        throw new ChatTemplateException("the chat template has a tag that is never closed: " + excerpt(src, start));
    }

    /** The index just past the string literal whose quote is at {@code quote}. */
    private static int stringEnd(String src, int quote) {
        char q = src.charAt(quote);
        for (int i = quote + 1; i < src.length(); i++) {
            char c = src.charAt(i);
            if (c == '\\') {
                i++;
            } else if (c == q) {
                return i + 1;
            }
        }
        throw new ChatTemplateException("the chat template has a string that is never closed: "
                + excerpt(src, quote));
    }

    /** Copies a raw block's content as it is, up to its {@code {% endraw %}}; returns where that tag starts. */
    private int copyRaw(String src, int from) {
        int i = from;
        while (true) {
            int tag = src.indexOf("{%", i);
            if (tag < 0) {
                throw new ChatTemplateException("the chat template has a raw block that is never closed: "
                        + excerpt(src, from));
            }
            int body = tag + 2 + (tag + 2 < src.length() && "-+".indexOf(src.charAt(tag + 2)) >= 0 ? 1 : 0);
            int end = src.indexOf("%}", body);
            if (end > 0 && src.substring(body, end).replace("-", "").replace("+", "").strip().equals("endraw")) {
                String text = src.substring(from, tag);
                text(text, false, src.charAt(tag + 2) == '-', src.charAt(tag + 2) != '+');
                return tag;
            }
            i = tag + 2;
        }
    }

    private static String excerpt(String src, int at) {
        String rest = src.substring(at, Math.min(src.length(), at + 40));
        return "'" + rest.replace("\n", "\\n") + (at + 40 < src.length() ? "...'" : "'");
    }
}
