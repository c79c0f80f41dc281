package dev.ultrakv.chat;

import com.hubspot.jinjava.interpret.InterpretException;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.tag.ForTag;
import com.hubspot.jinjava.tree.Node;
import com.hubspot.jinjava.tree.TagNode;
import com.hubspot.jinjava.tree.parse.TagToken;
import com.hubspot.jinjava.util.ObjectIterator;
import com.hubspot.jinjava.util.ObjectTruthValue;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Pattern;
import org.apache.commons.lang3.tuple.Pair;

/**
 * Jinja's {@code for} tag with three behaviours of jinja2 that Jinjava lacks.
 *
 * <h2>A loop over None fails</h2>
 * As in Python ({@code TypeError: 'NoneType' object is not iterable}), where Jinjava loops zero times. Jinjava
 * evaluates None and an undefined name both to null (its context drops names bound to null), which jinja2 tells
 * apart: an undefined name is an empty iterable, None is an error. The renderer therefore lists the names it binds
 * to None under {@link #NONE_NAMES} in the context, and a loop over one of those bare names fails when it gives
 * null ({@code tools}, which Hugging Face passes as None when no tools are offered). Any other expression that
 * gives null ({@code message.tool_calls} on a message without them) loops zero times, as jinja2 does for a
 * missing attribute.
 *
 * <h2>The else branch</h2>
 * {@code {% for %}...{% else %}...{% endfor %}} renders the else branch once, when nothing is iterated; Jinjava
 * renders it after the body in every iteration and never for an empty loop.
 *
 * <h2>Loop filters</h2>
 * {@code for key, val in tool.items() if key != "return"} (Mistral's tool-use template) loops over the items the
 * condition keeps, {@code loop.index} and {@code loop.last} counting only those. Jinjava reads
 * {@code items if cond} as a conditional expression, which is null while the loop variable is unset: the loop
 * renders nothing.
 */
final class PythonForTag extends ForTag {
    private static final long serialVersionUID = 1L;

    /** The context's entry naming the variables bound to None: a {@code Set<String>}. */
    static final String NONE_NAMES = "__ultrakv_none_names";

    private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    @Override
    public Pair<List<String>, String> getLoopVarsAndExpression(TagToken tagToken) {
        Pair<List<String>, String> parts = super.getLoopVarsAndExpression(tagToken);
        int filter = filterStart(parts.getRight());
        return filter < 0 ? parts : Pair.of(parts.getLeft(), parts.getRight().substring(0, filter).trim());
    }

    @Override
    public String renderForCollection(TagNode tagNode, JinjavaInterpreter interpreter, List<String> loopVars,
                                      Object collection) {
        String written = super.getLoopVarsAndExpression((TagToken) tagNode.getMaster()).getRight().trim();
        int filter = filterStart(written);
        String expression = filter < 0 ? written : written.substring(0, filter).trim();
        if (collection == null && NAME.matcher(expression).matches()
                && interpreter.getContext().get(NONE_NAMES) instanceof Set<?> none && none.contains(expression)) {
            throw new InterpretException("'" + expression + "' is None, which cannot be iterated"
                    + " (jinja2: TypeError: 'NoneType' object is not iterable)", tagNode.getLineNumber());
        }
        if (filter >= 0 && collection != null) {
            String condition = written.substring(filter + " if ".length()).trim();
            collection = kept(collection, condition, loopVars, interpreter, tagNode.getLineNumber());
        }
        LinkedList<Node> children = tagNode.getChildren();
        int elseAt = elseAt(children);
        if (elseAt < 0) {
            return super.renderForCollection(tagNode, interpreter, loopVars, collection);
        }
        if (collection == null || !ObjectIterator.getLoop(collection).hasNext()) {
            StringBuilder otherwise = new StringBuilder();
            for (Node node : children.subList(elseAt + 1, children.size())) {
                otherwise.append(node.render(interpreter).getValue());
            }
            return otherwise.toString();
        }
        // The loop's body without its else branch, in a node of this render's own: the parsed tree is not changed.
        TagNode body = new TagNode(this, (TagToken) tagNode.getMaster(), tagNode.getSymbols());
        body.setParent(tagNode.getParent());
        body.setChildren(new LinkedList<>(children.subList(0, elseAt)));
        return super.renderForCollection(body, interpreter, loopVars, collection);
    }

    /** Where the loop's own {@code else} tag is among its children (not one of a nested if), or -1. */
    private static int elseAt(List<Node> children) {
        for (int i = 0; i < children.size(); i++) {
            if (children.get(i) instanceof TagNode tag && tag.getName().equals("else")) {
                return i;
            }
        }
        return -1;
    }

    /** The items of {@code collection} for which {@code condition} holds, the loop variables bound to each. */
    private static List<Object> kept(Object collection, String condition, List<String> loopVars,
                                     JinjavaInterpreter interpreter, int line) {
        List<Object> kept = new ArrayList<>();
        Iterator<?> items = collection instanceof Map<?, ?> map ? map.keySet().iterator()
                : collection instanceof Iterable<?> iterable ? iterable.iterator() : List.of(collection).iterator();
        while (items.hasNext()) {
            Object item = items.next();
            interpreter.enterScope();
            try {
                bind(interpreter, loopVars, item);
                if (ObjectTruthValue.evaluate(interpreter.resolveELExpression(condition, line))) {
                    kept.add(item);
                }
            } finally {
                interpreter.leaveScope();
            }
        }
        return kept;
    }

    /** Binds the loop variables to {@code item}, unpacking a pair into two names as jinja2 does. */
    private static void bind(JinjavaInterpreter interpreter, List<String> loopVars, Object item) {
        if (loopVars.size() == 1) {
            interpreter.getContext().put(loopVars.get(0), item);
            return;
        }
        List<?> values = item instanceof Map.Entry<?, ?> e ? java.util.Arrays.asList(e.getKey(), e.getValue())
                : item instanceof List<?> list ? list : List.of();
        for (int i = 0; i < loopVars.size(); i++) {
            interpreter.getContext().put(loopVars.get(i), i < values.size() ? values.get(i) : null);
        }
    }

    /**
     * Where the loop filter ({@code " if "} outside strings and brackets) starts in a loop's expression, or -1:
     * jinja2 takes no conditional expression there unparenthesized, so such an {@code if} is always the filter.
     */
    static int filterStart(String expression) {
        int depth = 0;
        for (int i = 0; i < expression.length(); i++) {
            char c = expression.charAt(i);
            if (c == '\'' || c == '"') {
                int close = expression.indexOf(c, i + 1);
                while (close > 0 && expression.charAt(close - 1) == '\\') {
                    close = expression.indexOf(c, close + 1);
                }
                if (close < 0) {
                    return -1;
                }
                i = close;
            } else if (c == '(' || c == '[' || c == '{') {
                depth++;
            } else if (c == ')' || c == ']' || c == '}') {
                depth--;
            } else if (depth == 0 && expression.startsWith(" if ", i)) {
                return i;
            }
        }
        return -1;
    }
}
