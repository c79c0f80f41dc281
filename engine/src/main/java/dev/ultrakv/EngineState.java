package dev.ultrakv;

/** Where an {@link UltraAdaptiveKVCacheEngine} stands, as {@link EngineStats#state()} reports it. */
public enum EngineState {
    /** It serves requests; faults that fail single requests or steps leave it here. */
    RUNNING,
    /** {@link UltraAdaptiveKVCacheEngine#close()} was called: it serves no more. */
    CLOSED,
    /**
     * A fault left it unusable (see {@link EngineStats#failure()}): every held and later request fails with that
     * cause. Only {@link UltraAdaptiveKVCacheEngine#close()} is left to call.
     */
    FAILED
}
