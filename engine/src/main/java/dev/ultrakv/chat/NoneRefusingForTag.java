package dev.ultrakv.chat;

import com.hubspot.jinjava.interpret.InterpretException;
import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.tag.ForTag;
import com.hubspot.jinjava.tree.TagNode;
import com.hubspot.jinjava.tree.parse.TagToken;
import java.util.List;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Jinja's {@code for} tag, failing as Python does when it iterates None ({@code TypeError: 'NoneType' object is
 * not iterable}) where Jinjava's loops zero times.
 *
 * <p>Jinjava evaluates None and an undefined name both to null (its context drops names bound to null), which
 * jinja2 tells apart: an undefined name is an empty iterable, None is an error. The renderer therefore lists the
 * names it binds to None under {@link #NONE_NAMES} in the context, and a loop over one of those bare names fails
 * when it gives null ({@code tools}, which Hugging Face passes as None when no tools are offered). Any other
 * expression that gives null ({@code message.tool_calls} on a message without them) loops zero times, as jinja2
 * does for a missing attribute.
 */
final class NoneRefusingForTag extends ForTag {
    /** The context's entry naming the variables bound to None: a {@code Set<String>}. */
    static final String NONE_NAMES = "__ultrakv_none_names";

    private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");

    @Override
    public String renderForCollection(TagNode tagNode, JinjavaInterpreter interpreter, List<String> loopVars,
                                      Object collection) {
        if (collection == null) {
            String expression = getLoopVarsAndExpression((TagToken) tagNode.getMaster()).getRight().trim();
            if (NAME.matcher(expression).matches()
                    && interpreter.getContext().get(NONE_NAMES) instanceof Set<?> none && none.contains(expression)) {
                throw new InterpretException("'" + expression + "' is None, which cannot be iterated"
                        + " (jinja2: TypeError: 'NoneType' object is not iterable)", tagNode.getLineNumber());
            }
        }
        return super.renderForCollection(tagNode, interpreter, loopVars, collection);
    }
}
