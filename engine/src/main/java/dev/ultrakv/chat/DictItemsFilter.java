package dev.ultrakv.chat;

import com.hubspot.jinjava.interpret.JinjavaInterpreter;
import com.hubspot.jinjava.lib.filter.Filter;
import java.util.ArrayList;
import java.util.Map;

/**
 * jinja2's {@code items} filter ({@code for name, fields in properties|items}): a mapping's (key, value) pairs
 * in its order. Jinjava has no such filter and passes the mapping through, which a loop then iterates as
 * nothing: the tool-use templates would list every tool without its parameters.
 */
final class DictItemsFilter implements Filter {
    @Override
    public String getName() {
        return "items";
    }

    @Override
    public Object filter(Object var, JinjavaInterpreter interpreter, String... args) {
        if (var == null) {
            return new ArrayList<>();
        }
        if (!(var instanceof Map<?, ?> map)) {
            throw new IllegalArgumentException("items: expected a mapping, got " + var.getClass().getSimpleName());
        }
        return new ArrayList<>(map.entrySet());
    }
}
