package dev.ultrakv.chat;

import java.time.LocalDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/**
 * Python's {@code strftime} for the fields chat templates use ({@code strftime_now("%d %b %Y")}), in the C locale:
 * {@code %a %A %b %B %d %m %y %Y %H %I %M %S %p %j %%}; any other text is copied as it is.
 */
final class PythonStrftime {
    private PythonStrftime() {
    }

    /**
     * {@code time} written by {@code format}.
     *
     * @throws ChatTemplateException naming a field this does not know
     */
    static String format(String format, LocalDateTime time) {
        StringBuilder out = new StringBuilder();
        for (int i = 0; i < format.length(); i++) {
            char c = format.charAt(i);
            if (c != '%' || i + 1 == format.length()) {
                out.append(c);
                continue;
            }
            char field = format.charAt(++i);
            out.append(switch (field) {
                case 'a' -> pattern(time, "EEE");
                case 'A' -> pattern(time, "EEEE");
                case 'b' -> pattern(time, "MMM");
                case 'B' -> pattern(time, "MMMM");
                case 'd' -> pattern(time, "dd");
                case 'm' -> pattern(time, "MM");
                case 'y' -> pattern(time, "yy");
                case 'Y' -> pattern(time, "yyyy");
                case 'H' -> pattern(time, "HH");
                case 'I' -> pattern(time, "hh");
                case 'M' -> pattern(time, "mm");
                case 'S' -> pattern(time, "ss");
                case 'p' -> pattern(time, "a").toUpperCase(Locale.ROOT);
                case 'j' -> String.format(Locale.ROOT, "%03d", time.getDayOfYear());
                case '%' -> "%";
                default -> throw new ChatTemplateException("the chat template's strftime_now asks for %" + field
                        + ", which is not supported (supported: %a %A %b %B %d %m %y %Y %H %I %M %S %p %j %%)");
            });
        }
        return out.toString();
    }

    private static String pattern(LocalDateTime time, String pattern) {
        return time.format(DateTimeFormatter.ofPattern(pattern, Locale.ENGLISH));
    }
}
