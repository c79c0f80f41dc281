package dev.ultrakv;

import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Silences the engine's fault log for a test class that injects faults on purpose ({@code @ExtendWith}): each
 * would otherwise print a stack trace. The logger is held here because java.util.logging keeps loggers weakly.
 */
final class QuietEngineLog implements BeforeAllCallback, AfterAllCallback {
    private static final Logger ENGINE_LOG = Logger.getLogger(UltraAdaptiveKVCacheEngine.class.getName());

    @Override
    public void beforeAll(ExtensionContext context) {
        ENGINE_LOG.setLevel(Level.OFF);
    }

    @Override
    public void afterAll(ExtensionContext context) {
        ENGINE_LOG.setLevel(null);
    }
}
