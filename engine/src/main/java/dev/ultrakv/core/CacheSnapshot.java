package dev.ultrakv.core;

/**
 * The cache and scheduler as the loop left them after its last iteration: what the engine's statistics report
 * besides its request counters.
 *
 * @param evictions    KV blocks evicted so far
 * @param blocksUsed   blocks held by the cache or by a running request
 * @param blocksFree   blocks free
 * @param blocksPinned cached blocks pinned by running requests
 * @param kvBytesInUse bytes of the blocks in use
 * @param preemptions  preemptions so far
 * @param waiting      requests waiting for admission
 * @param running      sequences running
 */
public record CacheSnapshot(long evictions, int blocksUsed, int blocksFree, int blocksPinned, long kvBytesInUse,
                            long preemptions, int waiting, int running) {
}
