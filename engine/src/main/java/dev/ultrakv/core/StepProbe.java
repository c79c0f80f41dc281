package dev.ultrakv.core;

import java.util.List;

/**
 * Called before each forward pass with the step's number and its requests' ids, inside the supervised step: the
 * place where tests inject faults (a kernel that throws on a chosen step, a request whose rows always fail).
 */
@FunctionalInterface
public interface StepProbe {
    /** Does nothing: what an engine outside tests runs. */
    StepProbe NONE = (step, requestIds) -> {
    };

    /** Called before the forward pass of {@code step}, whose batch holds {@code requestIds}. */
    void beforeForward(long step, List<String> requestIds);
}
