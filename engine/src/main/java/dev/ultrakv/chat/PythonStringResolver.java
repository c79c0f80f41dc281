package dev.ultrakv.chat;

import java.beans.FeatureDescriptor;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.regex.Pattern;
import jinjava.javax.el.ELContext;
import jinjava.javax.el.ELResolver;

/**
 * Python's string methods and indexing on Jinja strings, which Jinjava leaves to Java's {@code String}: chat
 * templates call {@code content.strip()}, {@code content.split('</think>')[-1]}, {@code role.startswith('tool')}
 * and {@code content[0]}. Without this, {@code startswith} and {@code upper} do not exist, {@code split} takes a
 * regular expression and gives a Java array, {@code strip(chars)} fails, and an index into a string gives
 * nothing.
 *
 * <p>Placed before Jinjava's own resolvers, it answers only a string base with one of the methods below or an
 * integer index; everything else goes on to them.
 */
final class PythonStringResolver extends ELResolver {
    private static final Pattern INTEGER = Pattern.compile("-?[0-9]{1,18}");

    @Override
    public Object invoke(ELContext context, Object base, Object method, Class<?>[] paramTypes, Object[] params) {
        if (!(base instanceof String s) || !(method instanceof String name)) {
            return null;
        }
        Object[] args = params == null ? new Object[0] : params;
        Object result = switch (name) {
            case "strip" -> strip(s, chars(args), true, true);
            case "lstrip" -> strip(s, chars(args), true, false);
            case "rstrip" -> strip(s, chars(args), false, true);
            case "split" -> split(s, args);
            case "startswith" -> anyAffix(s, args, true);
            case "endswith" -> anyAffix(s, args, false);
            case "upper" -> s.toUpperCase(Locale.ROOT);
            case "lower" -> s.toLowerCase(Locale.ROOT);
            case "title" -> title(s);
            case "capitalize" -> s.isEmpty() ? s
                    : s.substring(0, 1).toUpperCase(Locale.ROOT) + s.substring(1).toLowerCase(Locale.ROOT);
            case "replace" -> replace(s, args);
            case "find" -> args.length == 1 ? (long) s.indexOf(text(args[0], "find")) : Unhandled.INSTANCE;
            case "join" -> args.length == 1 ? join(s, args[0]) : Unhandled.INSTANCE;
            default -> Unhandled.INSTANCE;
        };
        if (result == Unhandled.INSTANCE) {
            return null;
        }
        context.setPropertyResolved(true);
        return result;
    }

    @Override
    public Object getValue(ELContext context, Object base, Object property) {
        Long index = base instanceof String ? index(property) : null;
        if (index == null) {
            return null;
        }
        context.setPropertyResolved(true);
        String s = (String) base;
        long at = index < 0 ? index + s.length() : index;
        // Out of range is jinja2's Undefined, which renders as nothing.
        return at < 0 || at >= s.length() ? null : String.valueOf(s.charAt((int) at));
    }

    /** An integer index, as the parser hands it over (a number, or its digits as text), else null. */
    private static Long index(Object property) {
        if (property instanceof Long || property instanceof Integer) {
            return ((Number) property).longValue();
        }
        if (property instanceof String text && INTEGER.matcher(text).matches()) {
            return Long.parseLong(text);
        }
        return null;
    }

    @Override
    public Class<?> getType(ELContext context, Object base, Object property) {
        return null;
    }

    @Override
    public void setValue(ELContext context, Object base, Object property, Object value) {
        // Strings are immutable: nothing to set; other resolvers handle other bases.
    }

    @Override
    public boolean isReadOnly(ELContext context, Object base, Object property) {
        return base instanceof String;
    }

    @Override
    public Iterator<FeatureDescriptor> getFeatureDescriptors(ELContext context, Object base) {
        return null;
    }

    @Override
    public Class<?> getCommonPropertyType(ELContext context, Object base) {
        return base instanceof String ? Number.class : null;
    }

    /** Marks a call this resolver leaves to the others (a method it does not know, or other arguments). */
    private enum Unhandled {
        INSTANCE
    }

    private static String chars(Object[] args) {
        return args.length == 0 || args[0] == null ? null : text(args[0], "strip");
    }

    /** Python's str.strip: whitespace by default, else any of {@code chars}, from the chosen ends. */
    static String strip(String s, String chars, boolean left, boolean right) {
        int start = 0;
        int end = s.length();
        while (left && start < end && stripped(s.charAt(start), chars)) {
            start++;
        }
        while (right && end > start && stripped(s.charAt(end - 1), chars)) {
            end--;
        }
        return s.substring(start, end);
    }

    private static boolean stripped(char c, String chars) {
        return chars == null ? isPythonSpace(c) : chars.indexOf(c) >= 0;
    }

    /** Python's str.isspace for one character (Java's isWhitespace leaves out no-break spaces). */
    private static boolean isPythonSpace(char c) {
        return Character.isWhitespace(c) || Character.isSpaceChar(c) || c == '\u0085';
    }

    /**
     * Python's str.split: on runs of whitespace, dropping empty ends, without a separator; on each occurrence of
     * the literal separator, keeping empty parts, with one. {@code maxsplit} limits the splits.
     */
    static List<String> split(String s, Object[] args) {
        String sep = args.length == 0 || args[0] == null ? null : text(args[0], "split");
        long maxSplit = args.length > 1 && args[1] instanceof Number n ? n.longValue() : -1;
        List<String> parts = new ArrayList<>();
        if (sep == null) {
            int i = 0;
            while (true) {
                while (i < s.length() && isPythonSpace(s.charAt(i))) {
                    i++;
                }
                if (i == s.length()) {
                    return parts;
                }
                if (maxSplit >= 0 && parts.size() == maxSplit) {
                    parts.add(strip(s.substring(i), null, false, true));
                    return parts;
                }
                int j = i;
                while (j < s.length() && !isPythonSpace(s.charAt(j))) {
                    j++;
                }
                parts.add(s.substring(i, j));
                i = j;
            }
        }
        if (sep.isEmpty()) {
            throw new IllegalArgumentException("split: empty separator (Python: ValueError)");
        }
        int from = 0;
        int at;
        while ((maxSplit < 0 || parts.size() < maxSplit) && (at = s.indexOf(sep, from)) >= 0) {
            parts.add(s.substring(from, at));
            from = at + sep.length();
        }
        parts.add(s.substring(from));
        return parts;
    }

    private static Object anyAffix(String s, Object[] args, boolean prefix) {
        if (args.length != 1) {
            return Unhandled.INSTANCE;
        }
        List<Object> affixes = args[0] instanceof Iterable<?> many ? list(many) : List.of(args[0]);
        for (Object affix : affixes) {
            String a = text(affix, prefix ? "startswith" : "endswith");
            if (prefix ? s.startsWith(a) : s.endsWith(a)) {
                return true;
            }
        }
        return false;
    }

    private static List<Object> list(Iterable<?> items) {
        List<Object> list = new ArrayList<>();
        items.forEach(list::add);
        return list;
    }

    /** Python's str.title: the first letter of each run of letters upper case, the others lower case. */
    static String title(String s) {
        StringBuilder sb = new StringBuilder(s.length());
        boolean inWord = false;
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            sb.append(inWord ? Character.toLowerCase(c) : Character.toTitleCase(c));
            inWord = Character.isLetter(c);
        }
        return sb.toString();
    }

    private static Object replace(String s, Object[] args) {
        if (args.length < 2 || args.length > 3) {
            return Unhandled.INSTANCE;
        }
        String old = text(args[0], "replace");
        String replacement = text(args[1], "replace");
        long count = args.length == 3 && args[2] instanceof Number n ? n.longValue() : -1;
        if (count < 0) {
            return s.replace(old, replacement);
        }
        StringBuilder sb = new StringBuilder();
        int from = 0;
        int at;
        for (long done = 0; done < count && !old.isEmpty() && (at = s.indexOf(old, from)) >= 0; done++) {
            sb.append(s, from, at).append(replacement);
            from = at + old.length();
        }
        return sb.append(s, from, s.length()).toString();
    }

    private static String join(String separator, Object items) {
        if (!(items instanceof Iterable<?> iterable)) {
            throw new IllegalArgumentException("join: expected a list, got " + describe(items));
        }
        StringBuilder sb = new StringBuilder();
        boolean first = true;
        for (Object item : iterable) {
            if (!first) {
                sb.append(separator);
            }
            sb.append(text(item, "join"));
            first = false;
        }
        return sb.toString();
    }

    private static String text(Object value, String method) {
        if (value instanceof String s) {
            return s;
        }
        throw new IllegalArgumentException(method + ": expected a string, got " + describe(value));
    }

    private static String describe(Object value) {
        return value == null ? "None" : value.getClass().getSimpleName() + " " + value;
    }
}
