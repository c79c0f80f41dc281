package dev.ultrakv.quality;

/**
 * A candidate the harness could not run because its cache cannot be built (a codec or compression this build
 * does not support).
 *
 * @param candidate the cache setting
 * @param reason    the cache's own message
 */
public record SkippedCandidate(KvCandidate candidate, String reason) {
}
