package dev.ultrakv.quality;

/**
 * A candidate the harness did not run: its cache cannot be built (a codec or compression this build does not
 * support, or one that refuses the model's shape), or no length gives it a prompt long enough to compress.
 *
 * @param candidate the cache setting
 * @param reason    the cache's own message, or the harness's
 */
public record SkippedCandidate(KvCandidate candidate, String reason) {
}
