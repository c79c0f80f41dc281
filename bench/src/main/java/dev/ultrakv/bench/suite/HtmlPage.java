package dev.ultrakv.bench.suite;

import java.util.Base64;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The pieces of a self-contained report page (the suite's {@code report.html} and {@code bench serve}'s): the
 * style sheet, sections, tables and embedded PNG images, with HTML escaping and locale-free number formatting.
 */
public final class HtmlPage {
    /** The style sheet of every report, inlined in its head. */
    public static final String STYLE = """
            body { font-family: system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
                   margin: 24px auto; max-width: 1180px; padding: 0 16px; color: #1d232a; line-height: 1.4; }
            h1 { margin-bottom: 4px; } h2 { margin-top: 36px; border-bottom: 2px solid #d0d7de; }
            .meta { color: #57606a; } .quick { background: #fff8c5; border: 1px solid #d4a72c; padding: 8px 12px; }
            .cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(210px, 1fr)); gap: 12px; }
            .card { border: 1px solid #d0d7de; border-radius: 8px; padding: 10px 14px; background: #f6f8fa; }
            .card .v { font-size: 1.5em; font-weight: 600; } .card .k { color: #57606a; font-size: 0.9em; }
            table { border-collapse: collapse; margin: 8px 0 16px; font-size: 0.92em; }
            th, td { border: 1px solid #d0d7de; padding: 4px 10px; text-align: right; }
            th { background: #2f6f4f; color: white; } td:first-child, th:first-child { text-align: left; }
            tr:nth-child(even) td { background: #f6f8fa; } .failed { color: #b42318; }
            td.text { text-align: left; color: #57606a; }
            img { max-width: 100%; border: 1px solid #d0d7de; margin: 8px 0; }
            p.note { color: #57606a; font-size: 0.92em; max-width: 900px; }
            """;

    private HtmlPage() {
    }

    /** A section: its title and, unless empty, a note under it. */
    public static void section(StringBuilder html, String title, String note) {
        html.append("<h2>").append(esc(title)).append("</h2>\n");
        if (!note.isEmpty()) {
            html.append("<p class=\"note\">").append(esc(note)).append("</p>\n");
        }
    }

    /** A table of plain-text cells (escaped here). */
    public static void table(StringBuilder html, List<String> headers, List<List<String>> rows) {
        rawTable(html, headers, rows.stream().map(r -> r.stream().map(HtmlPage::esc).toList()).toList());
    }

    /** A table whose cells are already HTML. */
    public static void rawTable(StringBuilder html, List<String> headers, List<List<String>> rows) {
        html.append("<table><tr>");
        headers.forEach(h -> html.append("<th>").append(esc(h)).append("</th>"));
        html.append("</tr>\n");
        for (List<String> row : rows) {
            html.append("<tr>");
            row.forEach(c -> html.append(c.matches("[-0-9.,/ %]*") ? "<td>" : "<td class=\"text\">").append(c)
                    .append("</td>"));
            html.append("</tr>\n");
        }
        html.append("</table>\n");
    }

    /** The chart {@code name} of {@code charts} as an embedded PNG image, if it was drawn. */
    public static void image(StringBuilder html, Map<String, byte[]> charts, String name) {
        byte[] png = charts.get(name);
        if (png != null) {
            html.append("<img alt=\"").append(esc(name)).append("\" src=\"data:image/png;base64,")
                    .append(Base64.getEncoder().encodeToString(png)).append("\">\n");
        }
    }

    /** {@code String.format} with a dot for decimals whatever the locale. */
    public static String fmt(String format, Object... args) {
        return String.format(Locale.ROOT, format, args);
    }

    /** {@code text} escaped for HTML text and attribute values; null as empty. */
    public static String esc(String text) {
        if (text == null) {
            return "";
        }
        return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}
