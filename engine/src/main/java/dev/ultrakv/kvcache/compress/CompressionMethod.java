package dev.ultrakv.kvcache.compress;

/**
 * Which K/V entries a compressed sequence keeps when it holds more than its share
 * ({@code compressionRatio × positions}) of its tokens. See docs/compression.md.
 */
public enum CompressionMethod {
    /** StreamingLLM: the first few positions (attention sinks) and a window of the most recent ones. */
    STREAMING,
    /** H2O: heavy hitters by attention received so far, plus the most recent positions. */
    H2O,
    /** SnapKV: the prompt's last positions (an observation window) vote by their attention which positions stay. */
    SNAPKV
}
