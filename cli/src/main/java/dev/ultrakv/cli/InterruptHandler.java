package dev.ultrakv.cli;

import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.function.BooleanSupplier;

/**
 * Catches Ctrl-C (SIGINT) while installed, instead of letting it end the JVM: {@code ultrakv chat} stops the reply
 * being generated. Java has no public API for this; {@code sun.misc.Signal} (module {@code jdk.unsupported}) is the
 * one in use, reached by reflection because javac warns on every direct use of it and that warning cannot be
 * suppressed. Where it is missing, or SIGINT is ignored (a background job of a script, {@code -Xrs}), Ctrl-C is
 * left alone.
 */
final class InterruptHandler {
    private final Object signal;
    private final Object previous;

    private InterruptHandler(Object signal, Object previous) {
        this.signal = signal;
        this.previous = previous;
    }

    /**
     * Installs {@code action} for SIGINT: when it returns false (nothing to stop), the signal goes to the handler
     * that was there before, which ends the program as usual.
     */
    static InterruptHandler install(BooleanSupplier action) {
        try {
            Class<?> signalType = Class.forName("sun.misc.Signal");
            Class<?> handlerType = Class.forName("sun.misc.SignalHandler");
            Method handle = signalType.getMethod("handle", signalType, handlerType);
            Method forward = handlerType.getMethod("handle", signalType);
            Object signal = signalType.getConstructor(String.class).newInstance("INT");
            Object[] before = new Object[1];
            Object handler = Proxy.newProxyInstance(InterruptHandler.class.getClassLoader(),
                    new Class<?>[] {handlerType}, (proxy, method, args) -> {
                        if (method.getName().equals("handle")) {
                            if (!action.getAsBoolean() && before[0] != null) {
                                forward.invoke(before[0], args[0]);
                            }
                            return null;
                        }
                        return switch (method.getName()) {
                            case "equals" -> proxy == args[0];
                            case "hashCode" -> System.identityHashCode(proxy);
                            default -> "InterruptHandler";
                        };
                    });
            before[0] = handle.invoke(null, signal, handler);
            return new InterruptHandler(signal, before[0]);
        } catch (ReflectiveOperationException | LinkageError e) {
            return new InterruptHandler(null, null);
        }
    }

    /** Puts the previous handler back. */
    void uninstall() {
        if (signal == null || previous == null) {
            return;
        }
        try {
            Class<?> signalType = signal.getClass();
            Class<?> handlerType = Class.forName("sun.misc.SignalHandler");
            signalType.getMethod("handle", signalType, handlerType).invoke(null, signal, previous);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("restoring the Ctrl-C handler failed", e);
        }
    }
}
