package dev.ultrakv.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import java.math.BigDecimal;
import java.util.Locale;
import java.util.Map;

/**
 * The {@code tojson} filter as Hugging Face defines it for chat templates: Python's
 * {@code json.dumps(value, ensure_ascii=False, indent=indent)}, so {@code ", "} and {@code ": "} between items
 * (with an indent, {@code ","} at line ends), non-ASCII characters as they are. Jinjava's own writes compact JSON
 * ({@code {"a":1}}), which changes the prompt of every template that shows tools or tool calls as JSON.
 */
final class PythonToJsonFilter implements Filter {
    @Override
    public String getName() {
        return "tojson";
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
        return filter(var, interpreter, args, Map.of());
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, Object[] args, Map<String, Object> kwargs) {
        Object indent = kwargs.getOrDefault("indent", args.length > 0 ? args[0] : null);
        StringBuilder out = new StringBuilder();
        write(out, var, indent == null ? null : " ".repeat(Math.toIntExact(((Number) indent).longValue())), 0);
        return out.toString();
    }

    /** Writes {@code value} as json.dumps does; {@code indent} null for one line. */
    static void write(StringBuilder out, Object value, String indent, int depth) {
        switch (value) {
            case null -> out.append("null");
            case String s -> string(out, s);
            case Boolean b -> out.append(b ? "true" : "false");
            case Double d -> out.append(number(d));
            case Float f -> out.append(number(f.doubleValue()));
            case Number n -> out.append(n);
            case Map<?, ?> map -> {
                if (map.isEmpty()) {
                    out.append("{}");
                    return;
                }
                out.append('{');
                boolean first = true;
                for (Map.Entry<?, ?> e : map.entrySet()) {
                    separate(out, indent, depth + 1, first);
                    string(out, String.valueOf(e.getKey()));
                    out.append(": ");
                    write(out, e.getValue(), indent, depth + 1);
                    first = false;
                }
                close(out, indent, depth, '}');
            }
            case Iterable<?> list -> {
                if (!list.iterator().hasNext()) {
                    out.append("[]");
                    return;
                }
                out.append('[');
                boolean first = true;
                for (Object item : list) {
                    separate(out, indent, depth + 1, first);
                    write(out, item, indent, depth + 1);
                    first = false;
                }
                close(out, indent, depth, ']');
            }
            case Map.Entry<?, ?> e -> write(out, java.util.List.of(e.getKey(), e.getValue()), indent, depth);
            default -> string(out, value.toString());
        }
    }

    private static void separate(StringBuilder out, String indent, int depth, boolean first) {
        if (indent == null) {
            out.append(first ? "" : ", ");
        } else {
            out.append(first ? "\n" : ",\n").append(indent.repeat(depth));
        }
    }

    private static void close(StringBuilder out, String indent, int depth, char bracket) {
        if (indent != null) {
            out.append('\n').append(indent.repeat(depth));
        }
        out.append(bracket);
    }

    /** A JSON string as json.dumps writes it with ensure_ascii=False. */
    static void string(StringBuilder out, String s) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }

    /**
     * A float as Python's repr writes it: the shortest digits that read back (Java's too), positional from 1e-4
     * up to 1e16, else with an exponent of at least two digits ({@code 1e-05}, {@code 1.5e+16}).
     */
    static String number(double d) {
        if (Double.isNaN(d)) {
            return "NaN";
        }
        if (Double.isInfinite(d)) {
            return d > 0 ? "Infinity" : "-Infinity";
        }
        double abs = Math.abs(d);
        if (abs == 0 || (abs >= 1e-4 && abs < 1e16)) {
            String plain = new BigDecimal(Double.toString(d)).toPlainString();
            return plain.contains(".") ? plain : plain + ".0";
        }
        String java = Double.toString(d);
        int e = java.indexOf('E');
        String mantissa = java.substring(0, e);
        if (mantissa.endsWith(".0")) {
            mantissa = mantissa.substring(0, mantissa.length() - 2);
        }
        int exponent = Integer.parseInt(java.substring(e + 1));
        return mantissa + "e" + (exponent < 0 ? "-" : "+") + String.format(Locale.ROOT, "%02d", Math.abs(exponent));
    }
}
